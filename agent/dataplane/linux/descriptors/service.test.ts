// The service descriptor through the KV scheduler over the fake kernel's nft table: what the
// table holds per item, zero changes on an unchanged restart, repair of hand-made damage,
// updates and deletes that touch one frontend, conntrack deletions, validation.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../lib/logging.ts';
import { serviceKey } from '../../../items/keys.ts';
import type { Service } from '../../../items/values.ts';
import type { Item } from '../../../scheduler/descriptor.ts';
import { KvScheduler } from '../../../scheduler/scheduler.ts';
import { linuxDriverWith } from '../driver.ts';
import { FakeKernel } from '../fake/kernel.ts';
import { hashOf, planFrontend } from '../service-plan.ts';
import { serviceItem } from '../test-items.ts';

const scheduler = (kernel: FakeKernel): KvScheduler =>
  new KvScheduler({ driver: linuxDriverWith(kernel.ports), logger: silentLogger(), retry: { auto: false } });

const be = (i: number, port = 8080): { ip: string; port: number } => ({ ip: `10.1.1.${10 + i}`, port });

const ITEMS: Item<Service>[] = [
  serviceItem('10.96.0.10', 'TCP', 80, [be(1), be(2), be(3)]),
  serviceItem('10.96.0.53', 'UDP', 53, [be(1, 53), be(2, 53)], { affinitySeconds: 600 }),
  serviceItem('node', 'TCP', 30080, [be(1)], { masqueradeOutside: [] }),
  serviceItem('10.96.0.11', 'TCP', 80, []),
  serviceItem('node', 'TCP', 30081, [], { noBackends: 'drop', masqueradeOutside: null }),
];

/** The fake's table lines that belong to one item (its hash) or name its key. */
const linesOf = (kernel: FakeKernel, key: string): string[] =>
  kernel.services.nft.dump().filter((l) => l.includes(hashOf(key)) || l.includes(key));

async function applied(): Promise<{ kernel: FakeKernel; s: KvScheduler }> {
  const kernel = new FakeKernel();
  const s = scheduler(kernel);
  const rec = await s.resync({ desired: ITEMS });
  expect(rec.errors).toEqual([]);
  return { kernel, s };
}

describe('service descriptor over the fake kernel', () => {
  it('writes each frontend as its own element, chains and sets', async () => {
    const { kernel, s } = await applied();
    expect(s.statuses().every((st) => st.state === 'configured')).toBe(true);
    const sets = kernel.services.nft.table!.sets;
    expect([...sets.get('service-ips')!.elements.keys()].sort()).toEqual([
      '10.96.0.10 . tcp . 80',
      '10.96.0.53 . udp . 53',
    ]);
    expect([...sets.get('service-nodeports')!.elements.keys()]).toEqual(['tcp . 30080']);
    expect(sets.get('no-endpoint-services')!.elements.get('10.96.0.11 . tcp . 80')?.value).toBe(
      'goto reject-chain',
    );
    expect(sets.get('no-endpoint-nodeports')!.elements.get('tcp . 30081')?.value).toBe('drop');
    // Without affinity no chain of its own: its backends are elements of the backend map, drawn
    // in a chain shared by every frontend drawing the same way; with affinity a frontend chain,
    // and a chain and an affinity set per backend.
    expect(linesOf(kernel, ITEMS[0]!.key).filter((l) => /^nft chain \S+$/.test(l))).toHaveLength(0);
    expect([...sets.get('service-backends')!.elements].map(([k, e]) => `${k} : ${e.value}`)).toEqual([
      '10.96.0.10 . tcp . 80 . 0 : 10.1.1.11',
      '10.96.0.10 . tcp . 80 . 1 : 10.1.1.12',
      '10.96.0.10 . tcp . 80 . 2 : 10.1.1.13',
    ]);
    const pick = planFrontend(ITEMS[0]!.key, ITEMS[0]!.value).shared!.chain.name;
    expect(kernel.services.nft.table!.chains.get(pick)?.rules.at(-1)).toBe(
      'dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @service-backends : 8080',
    );
    expect(linesOf(kernel, ITEMS[1]!.key).filter((l) => /^nft chain \S+$/.test(l))).toHaveLength(3);
    expect([...sets.keys()].filter((n) => n.startsWith(`aff-${hashOf(ITEMS[1]!.key)}`))).toHaveLength(2);
  });

  it('makes no change when a restarted agent resyncs an unchanged table', async () => {
    const { kernel } = await applied();
    const before = kernel.changes().length;
    const rec = await scheduler(kernel).resync({ desired: ITEMS });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(kernel.changes().length).toBe(before);
  });

  it('repairs a chain flushed by hand and an element deleted by hand', async () => {
    const { kernel, s } = await applied();
    const good = kernel.dump();
    const t = kernel.services.nft.table!;
    t.chains.get(planFrontend(ITEMS[0]!.key, ITEMS[0]!.value).shared!.chain.name)!.rules = [];
    t.sets.get('service-nodeports')!.elements.clear();
    const rec = await s.resync();
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 2, delete: 0 });
    expect(kernel.dump()).toBe(good);
  });

  it('rewrites every frontend when the fixed part was damaged, and the fixed part with them', async () => {
    const { kernel, s } = await applied();
    const good = kernel.dump();
    kernel.services.nft.table!.chains.get('services')!.rules.pop();
    const rec = await s.resync();
    expect(rec.errors).toEqual([]);
    expect(rec.counts.update).toBe(ITEMS.length);
    expect(kernel.dump()).toBe(good);
  });

  it('deletes frontends no item wants, and only theirs', async () => {
    const { kernel } = await applied();
    const keep = ITEMS.slice(2);
    const rec = await scheduler(kernel).resync({ desired: keep });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 2 });
    for (const gone of ITEMS.slice(0, 2)) expect(linesOf(kernel, gone.key)).toEqual([]);
    const fresh = new FakeKernel();
    await scheduler(fresh).resync({ desired: keep });
    // Shared objects go with their last user (the draw chain of the three backends, the hairpin
    // elements only it named); what the kept frontends share stays: the table is as if made
    // for them alone.
    expect(kernel.services.nft.dump().sort()).toEqual(fresh.services.nft.dump().sort());
  });

  it('keeps a shared draw chain and hairpin element while another frontend uses them, and removes them with the last', async () => {
    const kernel = new FakeKernel();
    const s = scheduler(kernel);
    const a = serviceItem('10.96.0.20', 'TCP', 80, [be(1), be(2)]);
    const b = serviceItem('10.96.0.21', 'TCP', 80, [be(2), be(3)]);
    expect((await s.commit([a, b])).errors).toEqual([]);
    const pick = planFrontend(a.key, a.value).shared!.chain.name;
    expect(planFrontend(b.key, b.value).shared!.chain.name).toBe(pick);
    const t = (): NonNullable<FakeKernel['services']['nft']['table']> => kernel.services.nft.table!;
    const hairpin = (): string[] => [...t().sets.get('hairpin')!.elements.keys()].sort();
    expect(hairpin()).toEqual(['10.1.1.11 . 10.1.1.11', '10.1.1.12 . 10.1.1.12', '10.1.1.13 . 10.1.1.13']);
    await s.commit([{ key: a.key, value: undefined }]);
    expect(t().chains.has(pick)).toBe(true);
    expect(hairpin()).toEqual(['10.1.1.12 . 10.1.1.12', '10.1.1.13 . 10.1.1.13']);
    // After a restart the users are counted from the table.
    const again = scheduler(kernel);
    expect((await again.resync({ desired: [b] })).counts).toEqual({ create: 0, update: 0, delete: 0 });
    await again.commit([{ key: b.key, value: undefined }]);
    expect(t().chains.has(pick)).toBe(false);
    expect(hairpin()).toEqual([]);
    // A frontend needing the chain again writes it again.
    expect((await again.commit([a])).errors).toEqual([]);
    expect(t().chains.get(pick)?.rules.length).toBeGreaterThan(0);
  });

  it('updates one frontend in one transaction and forgets UDP flows to a removed backend', async () => {
    const { kernel, s } = await applied();
    const others = ITEMS.filter((i) => i.key !== ITEMS[1]!.key).map((i) => linesOf(kernel, i.key));
    const udp = ITEMS[1]!;
    const calls = kernel.calls.length;
    await s.commit([{ key: udp.key, value: { ...udp.value, backends: udp.value.backends.slice(1) } }]);
    expect(kernel.calls.slice(calls)).toEqual([
      expect.stringMatching(/^services apply \d+$/),
      'conntrack -D 10.96.0.53:53',
    ]);
    // The first entry: flows that met the frontend before it had backends, when it was created.
    expect(kernel.services.conntrackFlushes).toEqual([
      { protocol: 'udp', origDst: '10.96.0.53', origPortDst: 53 },
      { protocol: 'udp', origDst: '10.96.0.53', origPortDst: 53, replySrc: '10.1.1.11', replyPortSrc: 53 },
    ]);
    expect(ITEMS.filter((i) => i.key !== udp.key).map((i) => linesOf(kernel, i.key))).toEqual(others);
    expect(linesOf(kernel, udp.key).some((l) => l.includes('10.1.1.11'))).toBe(false);
  });

  it('changes nothing for a change the table does not show (names, weights, locality)', async () => {
    const { kernel, s } = await applied();
    const before = kernel.changes().length;
    const v = ITEMS[0]!.value;
    const rec = await s.commit([
      {
        key: ITEMS[0]!.key,
        value: {
          ...v,
          name: 'renamed',
          backends: v.backends.map((b) => ({ ...b, weight: 5, local: false })),
        },
      },
    ]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(kernel.changes().length).toBe(before);
  });

  it('gets past an element left with another verdict: the change is redone from the table', async () => {
    const kernel = new FakeKernel();
    const s = scheduler(kernel);
    const item = ITEMS[3]!; // no backends: rejects
    await s.commit([item]);
    // By hand: the element now drops. The scheduler still believes it rejects.
    const el = kernel.services.nft
      .table!.sets.get('no-endpoint-services')!
      .elements.get('10.96.0.11 . tcp . 80')!;
    el.value = 'drop';
    const rec = await s.commit([{ key: item.key, value: { ...item.value, backends: [be(4)] } }]);
    expect(rec.errors).toEqual([]);
    expect(kernel.services.nft.table!.sets.get('no-endpoint-services')!.elements.size).toBe(0);
    expect(kernel.calls.filter((c) => c === 'services list')).toHaveLength(1);
  });

  it('retries a busy kernel', async () => {
    const kernel = new FakeKernel();
    const s = scheduler(kernel);
    kernel.failNext('services apply', 'busy', 2);
    await s.commit([ITEMS[0]!]);
    expect(s.status(ITEMS[0]!.key)?.state).toBe('retrying');
    await s.retryDue(Date.now() + 60_000);
    expect(s.status(ITEMS[0]!.key)?.state).toBe('configured');
  });

  it('refuses values the table cannot hold', async () => {
    const { s } = await applied();
    const base = ITEMS[0]!;
    const bad: [string, Partial<Service>][] = [
      ['vrf', { vrf: 1 }],
      ['vip', { vip: 'fd00::1' }],
      ['backend', { backends: [{ ip: '10.1.1.1', port: 0, weight: 1, local: true }] }],
      ['cidr', { masqueradeOutside: ['10.1.0.0/33'] }],
      ['affinity', { affinitySeconds: -1 }],
      ['key', { port: 81 }],
    ];
    for (const [what, change] of bad) {
      const v = { ...base.value, ...change };
      const key = what === 'key' ? base.key : serviceKey(v.vrf, v.protocol, v.vip, v.port);
      await s.commit([{ key, value: v }]);
      expect(s.status(key)?.state, what).toBe('invalid');
    }
  });
});
