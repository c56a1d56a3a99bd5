// Services in nftables, pure parts: golden `nft -f` text for representative frontends and
// changes, and the read-back of a table listed by the real nft (testdata/, nft 1.0.6) into the
// same objects the plan wrote.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { staleUdpFlows } from './descriptors/service.ts';
import { conntrackArgs } from './kernel/services.ts';
import { parseTable, scriptOf, type NftOp } from './nft.ts';
import {
  baseIntact,
  changeOps,
  frontendsIn,
  hashOf,
  planFrontend,
  sameObjects,
  serviceFrom,
  setupOps,
} from './service-plan.ts';
import { serviceItem } from './test-items.ts';

const script = (ops: readonly NftOp[]): string[] => scriptOf('netloom-svc', ops).trimEnd().split('\n');
const create = (item: ReturnType<typeof serviceItem>): string[] =>
  script(changeOps(item.key, undefined, planFrontend(item.key, item.value)));

const b = (i: number, port = 7007): { ip: string; port: number } => ({ ip: `10.1.1.${10 + i}`, port });

// The samples in testdata/services-nft-1.0.6.json, which nft listed after applying them.
const SAMPLES = [
  serviceItem('10.96.0.10', 'TCP', 80, [b(1), b(2), b(3)], {
    masqueradeOutside: ['10.1.0.0/16', '192.168.7.7/32', '10.1.5.0/24'],
  }),
  serviceItem('node', 'UDP', 30053, [{ ip: '10.1.2.10', port: 53 }], {
    masqueradeOutside: [],
    affinitySeconds: 100,
  }),
  serviceItem('10.96.0.12', 'SCTP', 99, [{ ip: '10.1.2.10', port: 99 }], { masqueradeOutside: null }),
  serviceItem('10.96.0.11', 'TCP', 80, [], { masqueradeOutside: null }),
  serviceItem('node', 'TCP', 30081, [], { masqueradeOutside: null, noBackends: 'drop' }),
  // externalTrafficPolicy: Local with clients inside the cluster, with and without affinity, and
  // with no backend of this node; load-balancer source ranges.
  serviceItem('node', 'TCP', 30082, [b(1)], {
    masqueradeOutside: null,
    noBackends: 'drop',
    inCluster: { sources: ['10.1.0.0/16', '10.20.0.0/16'], backends: [b(1), b(2)] },
  }),
  serviceItem('192.0.2.50', 'TCP', 80, [b(1)], {
    kind: 'load-balancer',
    masqueradeOutside: null,
    noBackends: 'drop',
    affinitySeconds: 60,
    sourceRanges: ['198.51.100.0/24', '203.0.113.7/32'],
    inCluster: { sources: ['10.1.0.0/16'], backends: [b(1), b(2)] },
  }),
  serviceItem('192.0.2.51', 'TCP', 80, [], {
    kind: 'external-ip',
    masqueradeOutside: null,
    noBackends: 'drop',
    inCluster: { sources: ['10.1.0.0/16'], backends: [b(2)] },
  }),
];

describe('services in nftables: rendering', () => {
  it('a cluster IP with three backends: one draw in a shared chain from the backend map, hairpin judged after DNAT', () => {
    const item = serviceItem('10.96.0.10', 'TCP', 80, [b(3), b(1), b(2)]);
    const objects = planFrontend(item.key, item.value);
    const pick = objects.shared!.chain.name;
    // The shared chain is named by its content: the same guards and number of backends, the same chain.
    expect(pick).toMatch(/^pick-[0-9a-f]{12}$/);
    expect(
      planFrontend('service/0/tcp/10.96.9.9/80', { ...item.value, vip: '10.96.9.9' }).shared?.chain.name,
    ).toBe(pick);
    const c = 'comment "service/0/tcp/10.96.0.10/80"';
    expect(create(item)).toEqual([
      `add chain ip netloom-svc ${pick}`,
      `flush chain ip netloom-svc ${pick}`,
      `add rule ip netloom-svc ${pick} ip saddr != 10.1.0.0/16 meta mark set meta mark | 0x00004000`,
      `add rule ip netloom-svc ${pick} dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @service-backends : 7007`,
      'add element ip netloom-svc hairpin { 10.1.1.11 . 10.1.1.11 }',
      'add element ip netloom-svc hairpin { 10.1.1.12 . 10.1.1.12 }',
      'add element ip netloom-svc hairpin { 10.1.1.13 . 10.1.1.13 }',
      `add element ip netloom-svc service-ips { 10.96.0.10 . tcp . 80 ${c} : goto ${pick} }`,
      `add element ip netloom-svc service-backends { 10.96.0.10 . tcp . 80 . 0 ${c} : 10.1.1.11 }`,
      `add element ip netloom-svc service-backends { 10.96.0.10 . tcp . 80 . 1 ${c} : 10.1.1.12 }`,
      `add element ip netloom-svc service-backends { 10.96.0.10 . tcp . 80 . 2 ${c} : 10.1.1.13 }`,
    ]);
    // No anonymous set (a `{ … }` literal in a rule): the kernel binds each by walking the
    // whole transaction, which made a first sync of N frontends O(N²).
    expect(create(item).some((l) => l.startsWith('add rule') && l.includes('{'))).toBe(false);
  });

  it('a backend change is a change of elements only: no rule, no chain (the kernel validates nothing)', () => {
    const old = serviceItem('10.96.0.10', 'TCP', 80, [b(1), b(2), b(3)]);
    const next = serviceItem('10.96.0.10', 'TCP', 80, [b(1), b(3), b(4)]);
    const o = planFrontend(old.key, old.value);
    const lines = script(changeOps(old.key, o, planFrontend(next.key, next.value)));
    const c = 'comment "service/0/tcp/10.96.0.10/80"';
    expect(lines).toEqual([
      'add element ip netloom-svc service-backends { 10.96.0.10 . tcp . 80 . 1 : 10.1.1.12 }',
      'delete element ip netloom-svc service-backends { 10.96.0.10 . tcp . 80 . 1 }',
      'add element ip netloom-svc service-backends { 10.96.0.10 . tcp . 80 . 2 : 10.1.1.13 }',
      'delete element ip netloom-svc service-backends { 10.96.0.10 . tcp . 80 . 2 }',
      'add element ip netloom-svc hairpin { 10.1.1.14 . 10.1.1.14 }',
      `add element ip netloom-svc service-backends { 10.96.0.10 . tcp . 80 . 1 ${c} : 10.1.1.13 }`,
      `add element ip netloom-svc service-backends { 10.96.0.10 . tcp . 80 . 2 ${c} : 10.1.1.14 }`,
    ]);
    // One backend more: the element goes to the chain drawing among four (written if absent).
    const more = serviceItem('10.96.0.10', 'TCP', 80, [b(1), b(2), b(3), b(4)]);
    const grown = script(changeOps(old.key, o, planFrontend(more.key, more.value)));
    expect(grown.filter((l) => l.startsWith('add rule'))).toEqual([
      expect.stringMatching(/ip saddr != 10\.1\.0\.0\/16 meta mark set/),
      expect.stringMatching(/numgen random mod 4 map @service-backends : 7007$/),
    ]);
    expect(
      grown.some((l) => l.startsWith('delete chain') || l.includes('delete element ip netloom-svc hairpin')),
    ).toBe(false);
  });

  it('backends on different ports, affinity or the Local split keep chains of their own', () => {
    const ports = serviceItem('10.96.0.10', 'TCP', 80, [b(1, 7007), b(2, 7008)]);
    expect(planFrontend(ports.key, ports.value).shared).toBeUndefined();
    expect(planFrontend(ports.key, ports.value).chains.map((ch) => ch.name)).toEqual([
      `svc-${hashOf(ports.key)}`,
    ]);
  });

  it('a UDP node port with ClientIP affinity, masquerading everything', () => {
    const item = serviceItem('node', 'UDP', 30053, [{ ip: '10.1.2.10', port: 53 }], {
      masqueradeOutside: [],
      affinitySeconds: 10_800,
    });
    const h = hashOf(item.key);
    const ep = `ep-${h}-10.1.2.10-53`;
    const aff = `aff-${h}-10.1.2.10-53`;
    const lines = create(item);
    expect(lines).toContain(
      `add set ip netloom-svc ${aff} { type ipv4_addr; flags dynamic,timeout; timeout 10800s; comment "${item.key}"; }`,
    );
    expect(lines.filter((l) => l.startsWith('add rule') || l.startsWith('add element'))).toEqual([
      `add rule ip netloom-svc ${ep} ip saddr 10.1.2.10 meta mark set meta mark | 0x00004000`,
      `add rule ip netloom-svc ${ep} update @${aff} { ip saddr }`,
      `add rule ip netloom-svc ${ep} meta l4proto udp dnat to 10.1.2.10:53 comment "${item.key}"`,
      `add rule ip netloom-svc svc-${h} meta mark set meta mark | 0x00004000`,
      `add rule ip netloom-svc svc-${h} ip saddr @${aff} goto ${ep}`,
      `add rule ip netloom-svc svc-${h} goto ${ep} comment "${item.key}"`,
      `add element ip netloom-svc service-nodeports { udp . 30053 comment "${item.key}" : goto svc-${h} }`,
    ]);
  });

  it('an SCTP frontend that never masquerades, and prefixes as nft would print them', () => {
    const sctp = serviceItem('10.96.0.12', 'SCTP', 99, [{ ip: '10.1.2.10', port: 99 }], {
      masqueradeOutside: null,
    });
    expect(planFrontend(sctp.key, sctp.value).shared?.chain.rules).toEqual([
      'dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @service-backends : 99',
    ]);
    expect(create(sctp)).toContain(
      `add element ip netloom-svc service-ips { 10.96.0.12 . sctp . 99 comment "${sctp.key}" : goto ${planFrontend(sctp.key, sctp.value).shared?.chain.name} }`,
    );
    // Host bits cleared, /32 bare, duplicates and covered prefixes dropped, sorted.
    const outside = serviceItem('10.96.0.10', 'TCP', 80, [b(1)], {
      masqueradeOutside: ['192.168.7.7/32', '10.1.5.0/24', '10.1.3.4/16', '10.1.0.0/16'],
    });
    expect(planFrontend(outside.key, outside.value).shared?.chain.rules[0]).toBe(
      'ip saddr != 10.1.0.0/16 ip saddr != 192.168.7.7 meta mark set meta mark | 0x00004000',
    );
  });

  it('no backends: an element in a no-endpoint map, rejecting or dropping, and nothing else', () => {
    expect(create(serviceItem('10.96.0.11', 'TCP', 80, []))).toEqual([
      'add element ip netloom-svc no-endpoint-services { 10.96.0.11 . tcp . 80 comment "service/0/tcp/10.96.0.11/80" : goto reject-chain }',
    ]);
    expect(create(serviceItem('node', 'UDP', 30081, [], { noBackends: 'drop' }))).toEqual([
      'add element ip netloom-svc no-endpoint-nodeports { udp . 30081 comment "service/0/udp/node/30081" : drop }',
    ]);
  });

  it('Local policy: clients inside the cluster go to every backend, the outside world to local ones or nowhere', () => {
    const item = SAMPLES[5]!;
    const h = hashOf(item.key);
    const c = `comment "${item.key}"`;
    const dnat = (i: number): string => `meta l4proto tcp dnat to 10.1.1.${10 + i}:7007`;
    const mark = 'meta mark set meta mark | 0x00004000';
    expect(planFrontend(item.key, item.value).chains).toEqual([
      {
        name: `int-${h}`,
        rules: [
          `ip saddr != 10.1.1.11 numgen random mod 2 0 ${dnat(1)}`,
          `ip saddr 10.1.1.11 numgen random mod 2 0 ${mark} ${dnat(1)}`,
          `ip saddr 10.1.1.12 ${mark}`,
          `${dnat(2)} ${c}`,
        ],
      },
      {
        name: `svc-${h}`,
        rules: [
          // No masquerade for the outside world (Local keeps its address); the node's own
          // connections are masqueraded on their way to any backend.
          `ip saddr 10.1.0.0/16 goto int-${h}`,
          `ip saddr 10.20.0.0/16 goto int-${h}`,
          `fib saddr type local ${mark} goto int-${h}`,
          `ip saddr 10.1.1.11 ${mark}`,
          `${dnat(1)} ${c}`,
        ],
      },
    ]);
    // No backend here: the outside world is dropped, the cluster still served.
    const none = SAMPLES[7]!;
    const hn = hashOf(none.key);
    const objects = planFrontend(none.key, none.value);
    expect(objects.elements).toEqual([
      { set: 'service-ips', key: '192.0.2.51 . tcp . 80', value: `goto svc-${hn}` },
    ]);
    expect(objects.chains.at(-1)?.rules).toEqual([
      `ip saddr 10.1.0.0/16 goto int-${hn}`,
      `fib saddr type local ${mark} goto int-${hn}`,
      `drop comment "${none.key}"`,
    ]);
    // Nobody anywhere: the no-endpoint map drops, as before.
    const empty = serviceItem('192.0.2.52', 'TCP', 80, [], {
      masqueradeOutside: null,
      noBackends: 'drop',
      inCluster: { sources: ['10.1.0.0/16'], backends: [] },
    });
    expect(create(empty)).toEqual([
      'add element ip netloom-svc no-endpoint-services { 192.0.2.52 . tcp . 80 comment "service/0/tcp/192.0.2.52/80" : drop }',
    ]);
  });

  it('source ranges: the first rule drops every other client; affinity chains serve both kinds of client', () => {
    const item = SAMPLES[6]!;
    const h = hashOf(item.key);
    const objects = planFrontend(item.key, item.value);
    const front = objects.chains.at(-1)!;
    expect(front.rules[0]).toBe('ip saddr != 198.51.100.0/24 ip saddr != 203.0.113.7 drop');
    expect(objects.chains.map((ch) => ch.name)).toEqual([
      `ep-${h}-10.1.1.11-7007`,
      `ep-${h}-10.1.1.12-7007`,
      `int-${h}`,
      `svc-${h}`,
    ]);
    expect(objects.sets.map((x) => x.name)).toEqual([`aff-${h}-10.1.1.11-7007`, `aff-${h}-10.1.1.12-7007`]);
    // The outside world's draw names only the local backend; the cluster's both.
    expect(front.rules.filter((r) => r.includes('@aff-'))).toEqual([
      `ip saddr @aff-${h}-10.1.1.11-7007 goto ep-${h}-10.1.1.11-7007`,
    ]);
    expect(objects.chains[2]!.rules.filter((r) => r.includes('@aff-'))).toHaveLength(2);
    // An empty list admits nobody.
    const closed = serviceItem('192.0.2.53', 'TCP', 80, [b(1)], { kind: 'load-balancer', sourceRanges: [] });
    expect(planFrontend(closed.key, closed.value).shared?.chain.rules[0]).toBe('drop');
  });

  it('an update rewrites only its own chains, drops a removed backend and a changed affinity set', () => {
    const old = serviceItem('10.96.0.10', 'TCP', 80, [b(1), b(2)], { affinitySeconds: 60 });
    const next = serviceItem('10.96.0.10', 'TCP', 80, [b(2)], { affinitySeconds: 30 });
    const h = hashOf(old.key);
    const lines = script(
      changeOps(old.key, planFrontend(old.key, old.value), planFrontend(next.key, next.value)),
    );
    // Every object named belongs to this frontend; the element stays as it was.
    for (const l of lines) expect(l).toMatch(new RegExp(`(svc|ep|aff)-${h}`));
    expect(lines.some((l) => l.includes('element'))).toBe(false);
    expect(lines).toContain(`delete chain ip netloom-svc ep-${h}-10.1.1.11-7007`);
    expect(lines).toContain(`delete set ip netloom-svc aff-${h}-10.1.1.11-7007`);
    // The kept backend's set is re-created with the new timeout.
    const kept = `aff-${h}-10.1.1.12-7007`;
    expect(lines.filter((l) => l.includes(`set ip netloom-svc ${kept}`))).toEqual([
      `add set ip netloom-svc ${kept} { type ipv4_addr; flags dynamic,timeout; timeout 60s; }`,
      `delete set ip netloom-svc ${kept}`,
      `add set ip netloom-svc ${kept} { type ipv4_addr; flags dynamic,timeout; timeout 30s; comment "${old.key}"; }`,
    ]);
    // Flushes come before deletes, deletes before the new rules.
    const at = (p: string): number => lines.findIndex((l) => l.startsWith(p));
    expect(at('flush chain')).toBeLessThan(at('delete chain'));
    expect(at('delete chain')).toBeLessThan(at('add rule'));
  });

  it('a delete succeeds whatever is left: element and chains are added before they go', () => {
    const item = serviceItem('10.96.0.10', 'TCP', 80, [b(1)]);
    const h = hashOf(item.key);
    // A shared draw: its elements go (each added first, so a missing one is no error); the shared
    // chain and the hairpin element stay for others.
    const pick = planFrontend(item.key, item.value).shared!.chain.name;
    expect(script(changeOps(item.key, planFrontend(item.key, item.value), undefined))).toEqual([
      `add element ip netloom-svc service-ips { 10.96.0.10 . tcp . 80 : goto ${pick} }`,
      `delete element ip netloom-svc service-ips { 10.96.0.10 . tcp . 80 }`,
      'add element ip netloom-svc service-backends { 10.96.0.10 . tcp . 80 . 0 : 10.1.1.11 }',
      'delete element ip netloom-svc service-backends { 10.96.0.10 . tcp . 80 . 0 }',
    ]);
    const affine = serviceItem('10.96.0.10', 'TCP', 80, [b(1)], { affinitySeconds: 5 });
    expect(script(changeOps(affine.key, planFrontend(affine.key, affine.value), undefined))).toEqual([
      `add chain ip netloom-svc ep-${h}-10.1.1.11-7007`,
      `add chain ip netloom-svc svc-${h}`,
      `add element ip netloom-svc service-ips { 10.96.0.10 . tcp . 80 : goto svc-${h} }`,
      `delete element ip netloom-svc service-ips { 10.96.0.10 . tcp . 80 }`,
      `flush chain ip netloom-svc ep-${h}-10.1.1.11-7007`,
      `flush chain ip netloom-svc svc-${h}`,
      `delete chain ip netloom-svc ep-${h}-10.1.1.11-7007`,
      `delete chain ip netloom-svc svc-${h}`,
      `add set ip netloom-svc aff-${h}-10.1.1.11-7007 { type ipv4_addr; flags dynamic,timeout; timeout 5s; }`,
      `delete set ip netloom-svc aff-${h}-10.1.1.11-7007`,
    ]);
  });

  it('the fixed part: four maps, filter and nat hooks, masquerade on the mark', () => {
    const lines = script(setupOps());
    expect(lines[0]).toBe('add table ip netloom-svc');
    expect(lines).toContain(
      'add map ip netloom-svc service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }',
    );
    expect(lines).toContain(
      'add chain ip netloom-svc filter-prerouting { type filter hook prerouting priority -110; policy accept; }',
    );
    expect(lines).toContain('add rule ip netloom-svc masquerading masquerade fully-random');
    expect(lines.some((l) => l.startsWith('flush chain ip netloom-svc service-'))).toBe(false);
  });
});

describe('services in nftables: reading back', () => {
  const listing: unknown = JSON.parse(
    readFileSync(new URL('./testdata/services-nft-1.0.6.json', import.meta.url), 'utf8'),
  );

  it('reads a table listed by nft into exactly the objects that were written', () => {
    const table = parseTable(listing);
    expect(baseIntact(table)).toBe(true);
    const found = frontendsIn(table, []);
    expect([...found.keys()].sort()).toEqual(SAMPLES.map((s) => s.key).sort());
    for (const s of SAMPLES) expect(sameObjects(found.get(s.key)!, planFrontend(s.key, s.value))).toBe(true);
  });

  it('describes what it found as a Service, and tells a damaged fixed part', () => {
    const table = parseTable(listing);
    const [cluster, nodePort] = SAMPLES;
    const found = frontendsIn(table, []);
    const v = serviceFrom(cluster!.key, found.get(cluster!.key)!);
    expect(v.backends.map((x) => `${x.ip}:${x.port}`)).toEqual([
      '10.1.1.11:7007',
      '10.1.1.12:7007',
      '10.1.1.13:7007',
    ]);
    expect(v.masqueradeOutside).toEqual(['10.1.0.0/16', '192.168.7.7/32']); // 10.1.5.0/24 lies inside
    expect(sameObjects(planFrontend(cluster!.key, v), planFrontend(cluster!.key, cluster!.value))).toBe(true);
    const u = serviceFrom(nodePort!.key, found.get(nodePort!.key)!);
    expect([u.vip, u.protocol, u.port, u.affinitySeconds, u.masqueradeOutside]).toEqual([
      'node',
      'UDP',
      30053,
      100,
      [],
    ]);
    table.chains.get('masquerading')!.rules.pop();
    expect(baseIntact(table)).toBe(false);
  });

  it('prints what it does not know so that it never equals a rule netloom writes', () => {
    const table = parseTable({
      nftables: [
        { chain: { name: 'x', table: 't' } },
        { rule: { chain: 'x', expr: [{ queue: { num: 1 } }] } },
      ],
    });
    expect(table.chains.get('x')?.rules).toEqual(['?{"queue":{"num":1}}']);
  });
});

describe('services: UDP flows to forget', () => {
  it('deletes flows to removed backends, and to a frontend that gets its first backends', () => {
    const old = serviceItem('10.96.0.53', 'UDP', 53, [
      { ip: '10.1.1.11', port: 53 },
      { ip: '10.1.1.12', port: 53 },
    ]).value;
    const next = { ...old, backends: old.backends.slice(1) };
    expect(staleUdpFlows(old, next)).toEqual([
      { protocol: 'udp', origDst: '10.96.0.53', origPortDst: 53, replySrc: '10.1.1.11', replyPortSrc: 53 },
    ]);
    expect(staleUdpFlows({ ...old, backends: [] }, next)).toEqual([
      { protocol: 'udp', origDst: '10.96.0.53', origPortDst: 53 },
    ]);
    expect(staleUdpFlows(old, undefined)).toHaveLength(2);
    expect(staleUdpFlows({ ...old, protocol: 'TCP' }, undefined)).toEqual([]);
    const nodePort = serviceItem('node', 'UDP', 30053, [{ ip: '10.1.1.11', port: 53 }]).value;
    expect(staleUdpFlows(nodePort, undefined).map(conntrackArgs)).toEqual([
      ['-D', '-p', 'udp', '--orig-port-dst', '30053', '--reply-src', '10.1.1.11', '--reply-port-src', '53'],
    ]);
  });
});
