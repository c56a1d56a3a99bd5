import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rebuildAttachments } from './rebuild.ts';
import { AttachmentStore } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'nl-att-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const att = (i: number, ifname = 'eth0') => ({
  containerId: `c${i}`,
  ifname,
  namespace: 'ns',
  pod: `p${i}`,
  netns: `/n/${i}`,
  ip: `10.1.1.${i}`,
  network: '',
});

describe('AttachmentStore', () => {
  it('persists adds and removes, grouped, and reloads them; the file is 0600 and no temp file is left', async () => {
    const s = new AttachmentStore(dir, 'c1');
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.add(att(i))));
    await s.add(att(1, 'net1'));
    expect(await s.remove('c1')).toHaveLength(2);
    expect(await s.remove('nope')).toEqual([]);
    const again = new AttachmentStore(dir, 'c1');
    expect(again.damaged).toBe('');
    expect(again.all()).toHaveLength(49);
    expect(again.get('c2', 'eth0')?.ip).toBe('10.1.1.2');
    expect(JSON.parse(readFileSync(again.path, 'utf8'))).toHaveLength(49);
    expect(statSync(again.path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps the newest ADD last: a repeated add moves the attachment to the end', async () => {
    const s = new AttachmentStore(dir, 'order');
    for (const i of [1, 2, 3]) await s.add(att(i));
    await s.add(att(1));
    expect(new AttachmentStore(dir, 'order').all().map((a) => a.containerId)).toEqual(['c2', 'c3', 'c1']);
  });

  it('sets a corrupt file aside, starts empty and says why (never throws)', () => {
    writeFileSync(join(dir, 'attachments-bad.json'), '{');
    const s = new AttachmentStore(dir, 'bad');
    expect(s.damaged).toMatch(/^not JSON/);
    expect(s.all()).toEqual([]);
    expect(existsSync(s.path)).toBe(false);
    expect(readdirSync(dir).some((f) => f.startsWith('attachments-bad.json.corrupt-'))).toBe(true);
    writeFileSync(join(dir, 'attachments-obj.json'), '{"a":1}');
    expect(new AttachmentStore(dir, 'obj').damaged).toBe('not a list of attachments');
  });

  it('drops malformed entries one by one and keeps the rest', () => {
    writeFileSync(
      join(dir, 'attachments-mixed.json'),
      JSON.stringify([att(1), { ...att(2), ip: 7 }, null, { ...att(3), netns: '' }, att(4)]),
    );
    const s = new AttachmentStore(dir, 'mixed');
    expect(s.damaged).toBe('');
    expect(s.dropped).toBe(3);
    expect(s.all().map((a) => a.containerId)).toEqual(['c1', 'c4']);
  });

  it('replaceAll writes a rebuilt list', async () => {
    const s = new AttachmentStore(dir, 'rebuilt');
    await s.add(att(9));
    await s.replaceAll([att(1), att(2)]);
    expect(new AttachmentStore(dir, 'rebuilt').all().map((a) => a.containerId)).toEqual(['c1', 'c2']);
  });
});

describe('rebuildAttachments', () => {
  const rec = (ip: string, over: Partial<Record<string, string>> = {}) => ({
    ip,
    entry: {
      namespace: 'ns',
      pod: 'p',
      containerId: 'c',
      ifname: 'eth0',
      network: '',
      netns: '/run/netns/x',
      ...over,
    },
  });

  it('turns each complete IPAM record into an attachment', () => {
    expect(rebuildAttachments([rec('10.1.1.5', { network: 'blue' })])).toEqual({
      rebuilt: [
        {
          containerId: 'c',
          ifname: 'eth0',
          namespace: 'ns',
          pod: 'p',
          netns: '/run/netns/x',
          ip: '10.1.1.5',
          network: 'blue',
        },
      ],
      skipped: [],
    });
  });

  it('skips records without a usable namespace path or with missing parts, naming each', () => {
    const { rebuilt, skipped } = rebuildAttachments([
      rec('10.1.1.1', { netns: '' }),
      rec('10.1.1.2', { netns: 'relative/path' }),
      rec('10.1.1.3', { netns: '/run/netns/a\nip link del eth0' }),
      rec('10.1.1.4', { netns: '/run/netns/../../proc/1/ns/net' }),
      rec('10.1.1.5', { pod: '' }),
      rec('10.1.1.6', { netns: '/proc/4242/ns/net' }),
    ]);
    expect(rebuilt.map((a) => a.ip)).toEqual(['10.1.1.6']);
    expect(skipped).toEqual([
      '10.1.1.1 c/eth0: no namespace path recorded',
      '10.1.1.2 c/eth0: namespace path "relative/path" refused',
      '10.1.1.3 c/eth0: namespace path "/run/netns/a\\nip link del eth0" refused',
      '10.1.1.4 c/eth0: namespace path "/run/netns/../../proc/1/ns/net" refused',
      '10.1.1.5 c/eth0: incomplete entry',
    ]);
  });

  it('rebuilds an extra interface of a network as one, with the MAC it asked for', () => {
    const extra = { ...rec('10.20.1.9', { network: 'nets/blue', ifname: 'net1', mac: '02:bb:00:00:00:01' }) };
    const { rebuilt } = rebuildAttachments([{ ...extra, entry: { ...extra.entry, extra: true } }]);
    expect(rebuilt).toEqual([
      expect.objectContaining({
        ifname: 'net1',
        network: 'nets/blue',
        extra: true,
        mac: '02:bb:00:00:00:01',
      }),
    ]);
    expect(rebuildAttachments([rec('10.1.1.5')]).rebuilt[0]).not.toHaveProperty('extra');
  });
});
