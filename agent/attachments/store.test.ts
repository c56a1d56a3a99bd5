import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AttachmentStore, AttachmentStoreError } from './store.ts';

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
  it('persists adds and removes, grouped, and reloads them', async () => {
    const s = new AttachmentStore(dir, 'c1');
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.add(att(i))));
    await s.add(att(1, 'net1'));
    expect(await s.remove('c1')).toHaveLength(2);
    expect(await s.remove('nope')).toEqual([]);
    const again = new AttachmentStore(dir, 'c1');
    expect(again.all()).toHaveLength(49);
    expect(again.get('c2', 'eth0')?.ip).toBe('10.1.1.2');
    expect(JSON.parse(readFileSync(again.path, 'utf8'))).toHaveLength(49);
  });

  it('refuses a corrupt file with its path', () => {
    writeFileSync(join(dir, 'attachments-bad.json'), '{');
    expect(() => new AttachmentStore(dir, 'bad')).toThrow(AttachmentStoreError);
  });
});
