// `netloom ctl explain` as an operator runs it, against a real etcd holding what KSR would have
// written: an allowed and a denied pair, each naming what decided it; bad input exits 2.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../lib/keyspace.ts';
import { etcdAvailable, skipUnless } from './harness/availability.ts';
import { startEtcd, type EtcdHandle } from './harness/etcd.ts';

const skip = skipUnless('netloom ctl explain', etcdAvailable());
const NETLOOM = join(import.meta.dirname, '..', 'cli', 'netloom.ts');

function ctl(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [NETLOOM, 'ctl', ...args], { timeout: 30_000 }, (err, out, stderr) =>
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, out, err: stderr }),
    );
  });
}

describe.skipIf(skip)('netloom ctl explain (real etcd)', () => {
  let etcd: EtcdHandle;
  const ks = new Keyspace('explain');
  const common = (): string[] => [...etcd.flags(), '--cluster', 'explain'];

  beforeAll(async () => {
    etcd = await startEtcd({ name: 'explain' });
    const store = etcd.store();
    const put = (ref: Parameters<Keyspace['key']>[0], v: unknown): Promise<number> =>
      store.put(ks.key(ref), JSON.stringify(v));
    for (const ns of ['x', 'y']) await put({ kind: 'namespace', name: ns }, { name: ns, labels: { ns } });
    const pod = (ns: string, name: string, ip: string) =>
      put(
        { kind: 'pod', namespace: ns, name },
        { namespace: ns, name, labels: { pod: name }, podIps: [ip], nodeName: 'n1', phase: 'Running' },
      );
    await pod('x', 'a', '10.1.1.10');
    await pod('x', 'c', '10.1.1.12');
    await pod('y', 'b', '10.1.2.11');
    await put(
      { kind: 'policy', namespace: 'y', name: 'only-a' },
      {
        namespace: 'y',
        name: 'only-a',
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [
          {
            peers: [
              { namespaceSelector: { matchLabels: { ns: 'x' } }, podSelector: { matchLabels: { pod: 'a' } } },
            ],
            ports: [{ protocol: 'TCP', port: { number: 80 } }],
          },
        ],
      },
    );
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('an allowed pair names the policy and rule that allowed it', async () => {
    const r = await ctl(['explain', ...common(), '--from', 'x/a', '--to', 'y/b', '--port', '80']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ALLOWED/);
    expect(r.out).toContain('allowed by y/only-a ingress[0]');
  });

  it('a denied pair says which policy isolates the destination and that no rule allowed it (exit 1)', async () => {
    const r = await ctl(['explain', ...common(), '--from', 'x/c', '--to', 'y/b', '--port', '80']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^DENIED/);
    expect(r.out).toContain('isolated by y/only-a');
    const json = await ctl([
      'explain',
      ...common(),
      '--from',
      'x/a',
      '--to',
      'y/b',
      '--port',
      '81',
      '--json',
    ]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({
      allowed: false,
      ingress: { isolated: true, allowed: false, selectedBy: ['y/only-a'] },
    });
  });

  it('refuses a flow it cannot judge with one line and exit 2', async () => {
    const r = await ctl(['explain', ...common(), '--from', 'x/a', '--to', 'y/b', '--port', 'http']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/port "http"/);
    const unknown = await ctl([
      'explain',
      ...common(),
      '--from',
      'x/a',
      '--to',
      'y/b',
      '--port',
      '80',
      '--no-such-flag',
      '1',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/configuration error: --no-such-flag: unknown flag/);
  });
});
