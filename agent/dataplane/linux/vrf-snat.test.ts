// Source NAT in a custom network over the fake kernel: the rules and nft objects an item makes,
// zero changes on an unchanged resync, repair of each part deleted by hand, leftovers of a
// vanished item removed, and nothing left after deletion (VRF 0's source NAT untouched).
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/logging.ts';
import { snatKey } from '../../items/keys.ts';
import type { SourceNat } from '../../items/values.ts';
import type { Item } from '../../scheduler/descriptor.ts';
import { KvScheduler } from '../../scheduler/scheduler.ts';
import { snatVrfRules } from './descriptors/snat.ts';
import { linuxDriverWith } from './driver.ts';
import { FakeKernel } from './fake/kernel.ts';
import { ruleLine } from './kernel/rules.ts';
import { DEFAULT_NAMES } from './naming.ts';
import {
  POD_CIDR,
  isolationItems,
  networkBlock,
  networkCidr,
  networkNodeItems,
  networkPodItems,
  nodeItems,
  type TestNetwork,
  type TestNode,
  type TestPod,
} from './test-items.ts';

const nodes: TestNode[] = [
  { name: 'n1', id: 1, underlayIp: '192.168.0.1' },
  { name: 'n2', id: 2, underlayIp: '192.168.0.2' },
];
const A: TestNetwork = { id: 5, name: 'default/a', vni: 20, octet: 2 };
const B: TestNetwork = { id: 6, name: 'default/b', vni: 21, octet: 3 };
const pa: TestPod = {
  namespace: 'default',
  name: 'pa',
  containerId: 'c-pa',
  netns: '/run/netns/pa',
  ip: '10.2.1.11',
  hostIfName: 'nlpa',
};
const snatA: SourceNat = {
  vrf: A.id,
  source: networkBlock(A, 1),
  except: [POD_CIDR, '10.96.0.0/12', networkCidr(A), networkCidr(B)],
  toAddress: '',
};
const snatItem: Item = { key: snatKey(A.id, snatA.source), value: snatA };

const base = (): Item[] => [
  ...nodeItems(nodes[0]!, nodes),
  ...isolationItems([A, B]),
  ...networkNodeItems(nodes[0]!, nodes, A),
  ...networkNodeItems(nodes[0]!, nodes, B),
  ...networkPodItems(nodes[0]!, pa, A),
];

function setup() {
  const kernel = new FakeKernel();
  kernel.namespaces.add(pa.netns);
  const scheduler = () =>
    new KvScheduler({
      driver: linuxDriverWith(kernel.ports),
      logger: silentLogger(),
      retry: { auto: false },
    });
  return { kernel, s: scheduler(), scheduler };
}

const snatLines = (dump: string): string[] =>
  dump.split('\n').filter((l) => /^nat|pref (998|999)|lookup 254/.test(l));

describe('source NAT in a custom network over the fake kernel', () => {
  it("opens the block's way out after the VRF's table, refusing internal prefixes, and marks it for the way back", async () => {
    const { kernel, s } = setup();
    const rec = await s.resync({ desired: [...base(), snatItem] });
    expect(rec.errors).toEqual([]);
    expect(s.statuses().filter((st) => st.state !== 'configured')).toEqual([]);
    expect(snatLines(kernel.dump())).toEqual(
      [
        'nat snat/0/10.1.1.0/24 10.1.1.0/24 except 10.1.0.0/16,10.96.0.0/12 masquerade',
        'nat snat/5/10.2.1.0/24 10.2.1.0/24 except 10.1.0.0/16,10.2.0.0/16,10.3.0.0/16,10.96.0.0/12 ct mark 0x50000 masquerade',
        'nat-restore snat/5/10.2.1.0/24 mark 0x50000',
        'rule from 10.2.1.0/24 lookup 1005 pref 998',
        'rule from 10.2.1.0/24 lookup 254 pref 1000',
        'rule from 10.2.1.0/24 to 10.1.0.0/16 table 1005 unreachable pref 999',
        'rule from 10.2.1.0/24 to 10.2.0.0/15 table 1005 unreachable pref 999',
        'rule from 10.2.1.0/24 to 10.96.0.0/12 table 1005 unreachable pref 999',
        'rule to 10.2.1.0/24 fwmark 0x50000/0xffff0000 lookup 1005 pref 998',
      ].sort(),
    );
    // The VRF's own rules, its guard included, are as without source NAT.
    expect(kernel.dump()).toContain('rule from 10.2.0.0/16 table 1005 unreachable pref 1001');
    // nft first (masquerade and marks), then the rules that open the way out.
    const order = kernel.changes().filter((c) => c.includes('snat/5') || c.startsWith('rule add'));
    expect(order.indexOf('nat add snat/5/10.2.1.0/24')).toBeLessThan(order.lastIndexOf('rule add 6'));
  });

  it('makes zero changes when a restarted agent resyncs', async () => {
    const { kernel, s, scheduler } = setup();
    await s.resync({ desired: [...base(), snatItem] });
    const before = kernel.changes().length;
    const rec = await scheduler().resync({ desired: [...base(), snatItem] });
    expect(rec.errors).toEqual([]);
    expect(rec.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(kernel.changes().length).toBe(before);
  });

  it('re-makes the item when any of its parts was deleted by hand, and nothing else', async () => {
    const { kernel, s } = setup();
    await s.resync({ desired: [...base(), snatItem] });
    const good = kernel.dump();
    const rules = snatVrfRules(DEFAULT_NAMES, snatA);
    const breakers: [string, () => void][] = [
      ['a refusal', () => kernel.rules.delete(ruleLine('add', rules[2]!, 0))],
      ['the way out', () => kernel.rules.delete(ruleLine('add', rules[rules.length - 1]!, 0))],
      ['the fwmark rule', () => kernel.rules.delete(ruleLine('add', rules[0]!, 0))],
      ['the restore rule', () => kernel.natRestores.clear()],
      [
        'the mark on the masquerade',
        () => {
          for (const r of kernel.nat.values()) if (r.comment.startsWith('snat/5/')) delete r.ctMark;
        },
      ],
      [
        'the masquerade itself',
        () => {
          for (const [h, r] of kernel.nat) if (r.comment.startsWith('snat/5/')) kernel.nat.delete(h);
        },
      ],
    ];
    for (const [what, breakIt] of breakers) {
      breakIt();
      const rec = await s.resync();
      expect(rec.errors, what).toEqual([]);
      expect(kernel.dump(), what).toBe(good);
      expect(rec.counts.create + rec.counts.update, what).toBe(1);
    }
  });

  it("removes the leftovers of an item nobody wants, the VRF's and VRF 0's rules staying", async () => {
    const { kernel, s, scheduler } = setup();
    await s.resync({ desired: [...base(), snatItem] });
    // The masquerade rule gone by hand while the agent was down, the item no longer wanted.
    for (const [h, r] of kernel.nat) if (r.comment.startsWith('snat/5/')) kernel.nat.delete(h);
    const rec = await scheduler().resync({ desired: base() });
    expect(rec.errors).toEqual([]);
    expect(snatLines(kernel.dump())).toEqual([
      'nat snat/0/10.1.1.0/24 10.1.1.0/24 except 10.1.0.0/16,10.96.0.0/12 masquerade',
    ]);
    // Only the way-out rule left: its VRF is found from the subnet that holds the block.
    const rules = snatVrfRules(DEFAULT_NAMES, snatA);
    const out = rules[rules.length - 1]!;
    kernel.rules.set(ruleLine('add', out, 0), out);
    const again = await scheduler().resync({ desired: base() });
    expect(again.errors).toEqual([]);
    expect(again.counts).toEqual({ create: 0, update: 0, delete: 1 });
    expect(snatLines(kernel.dump())).toHaveLength(1);
    expect(kernel.dump()).toContain('rule from 10.2.0.0/16 table 1005 unreachable pref 1001');
  });

  it('deleting the item removes every rule and nft object it made', async () => {
    const { kernel, s } = setup();
    await s.resync({ desired: base() });
    const without = kernel.dump();
    await s.resync({ desired: [...base(), snatItem] });
    const rec = await s.resync({ desired: base() });
    expect(rec.errors).toEqual([]);
    expect(kernel.dump()).toBe(without);
  });

  it('refuses a custom network SNAT it cannot do, with the reason', async () => {
    const { s } = setup();
    const bad: [SourceNat, string][] = [
      [{ ...snatA, except: [] }, 'except is empty'],
      [{ ...snatA, vrf: 70000, source: '10.2.1.0/24' }, 'conntrack mark carries VRFs up to 65535'],
      [{ ...snatA, source: 'fd00:5::/64', except: ['fd00::/48'] }, 'IPv6 in a custom network'],
    ];
    for (const [value, why] of bad) {
      const key = snatKey(value.vrf, value.source);
      await s.commit([{ key, value }]);
      expect(s.status(key)?.state, why).toBe('invalid');
      expect(s.status(key)?.error?.message).toContain(why);
    }
  });
});
