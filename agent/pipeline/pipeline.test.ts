import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging.ts';
import type { Attachment } from '../attachments/attachment.ts';
import { testNodeContext } from '../renderers/testing.ts';
import type { Change } from '../scheduler/scheduler.ts';
import type { TxnRecord } from '../scheduler/txn-log.ts';
import { ClusterView } from '../view/view.ts';
import { Pipeline } from './pipeline.ts';

const ctx = testNodeContext({ tunnelEndpoint: '' });

const att = (containerId: string, ip: string, pod = 'web-0'): Attachment => ({
  containerId,
  ifname: 'eth0',
  namespace: 'default',
  pod,
  netns: `/run/netns/${containerId}`,
  ip,
  network: '',
});

/** A scheduler that records what it is asked, in order. */
function recorder() {
  const commits: { description: string; changes: Change[] }[] = [];
  const resyncs: { desired: { key: string; value: unknown }[] }[] = [];
  const record = {} as TxnRecord;
  return {
    commits,
    resyncs,
    commit: (changes: Iterable<Change>, description = ''): Promise<TxnRecord> => {
      commits.push({ description, changes: [...changes] });
      return Promise.resolve(record);
    },
    resync: (opts: { desired?: { key: string; value: unknown }[] }): Promise<TxnRecord> => {
      resyncs.push({ desired: opts.desired ?? [] });
      return Promise.resolve(record);
    },
  };
}

function pipeline(attachments: Attachment[] = [], view = new ClusterView()) {
  const scheduler = recorder();
  const p = new Pipeline({
    ctx,
    view,
    scheduler,
    attachments,
    subnetOf: () => undefined,
    gatewayOffset: 1,
    logger: silentLogger(),
  });
  return { p, scheduler };
}

/** Keys put (value present) and removed by one commit. */
const summary = (changes: Change[]) => ({
  put: changes.filter((c) => c.value !== undefined).map((c) => c.key),
  removed: changes.filter((c) => c.value === undefined).map((c) => c.key),
});

const podKey = 'pod-interface/default/web-0/eth0';

describe('Pipeline: one owner per pod interface', () => {
  it('a newer attachment of the same pod interface takes it over; the old route goes in the same commit', async () => {
    const { p, scheduler } = pipeline();
    const first = await p.attachPod(att('old', '10.1.1.10'), 'add old');
    expect(first.items.map((i) => i.key)).toEqual([podKey, 'route/0/10.1.1.10/32']);
    await p.attachPod(att('new', '10.1.1.11'), 'add new');
    expect(summary(scheduler.commits[1]!.changes)).toEqual({
      put: [podKey, 'route/0/10.1.1.11/32'],
      removed: ['route/0/10.1.1.10/32'],
    });
    expect(p.ownerOf(att('old', ''))?.containerId).toBe('new');
  });

  it('the old sandbox leaving changes nothing; the owner leaving hands the pod to its heir', async () => {
    const { p, scheduler } = pipeline();
    await p.attachPod(att('a', '10.1.1.10'), 'add a');
    await p.attachPod(att('b', '10.1.1.11'), 'add b');
    await p.attachPod(att('c', '10.1.1.12'), 'add c');
    // a is not the owner: nothing to commit, and its route is already gone.
    const left = await p.detachPod(att('a', '10.1.1.10'), 'del a');
    expect(left).toEqual({ gone: ['route/0/10.1.1.10/32'] });
    expect(scheduler.commits).toHaveLength(3);
    // c owns: b, the newest left, takes over.
    const heir = await p.detachPod(att('c', '10.1.1.12'), 'del c');
    expect(heir.gone).toEqual(['route/0/10.1.1.12/32']);
    const c = scheduler.commits[3]!;
    expect(summary(c.changes)).toEqual({
      put: [podKey, 'route/0/10.1.1.11/32'],
      removed: ['route/0/10.1.1.12/32'],
    });
    expect((c.changes[0]!.value as { containerId: string }).containerId).toBe('b');
    expect(p.ownerOf(att('b', ''))?.containerId).toBe('b');
    // The last one leaving removes the pod interface.
    const last = await p.detachPod(att('b', '10.1.1.11'), 'del b');
    expect(last.gone).toEqual([podKey, 'route/0/10.1.1.11/32']);
    expect(summary(scheduler.commits[4]!.changes)).toEqual({
      put: [],
      removed: [podKey, 'route/0/10.1.1.11/32'],
    });
    expect(p.ownerOf(att('b', ''))).toBeUndefined();
  });

  it('a repeated ADD of an older attachment makes it the owner again', async () => {
    const { p } = pipeline();
    await p.attachPod(att('a', '10.1.1.10'), 'add a');
    await p.attachPod(att('b', '10.1.1.11'), 'add b');
    await p.attachPod(att('a', '10.1.1.10'), 'add a again');
    expect(p.ownerOf(att('a', ''))?.containerId).toBe('a');
    expect(p.desiredItems().map((i) => i.key)).toContain('route/0/10.1.1.10/32');
    expect(p.desiredItems().map((i) => i.key)).not.toContain('route/0/10.1.1.11/32');
  });

  it('resync renders the node and each pod interface once, from the recorded attachments (newest owns)', async () => {
    const { p, scheduler } = pipeline([
      att('a', '10.1.1.10'),
      att('b', '10.1.1.11'),
      att('x', '10.1.1.20', 'db-0'),
    ]);
    await p.resync(true, 'start');
    const keys = scheduler.resyncs[0]!.desired.map((i) => i.key).sort();
    expect(keys).toEqual(
      [
        'address/0/10.1.1.1',
        'snat/0/10.1.1.0/24',
        podKey,
        'route/0/10.1.1.11/32',
        'pod-interface/default/db-0/eth0',
        'route/0/10.1.1.20/32',
      ].sort(),
    );
    // Pods attached after the start are part of the next resync; detached ones are not.
    await p.attachPod(att('y', '10.1.1.21', 'db-1'), 'add y');
    await p.detachPod(att('x', '10.1.1.20', 'db-0'), 'del x');
    await p.resync(false, 'again');
    const again = scheduler.resyncs[1]!.desired.map((i) => i.key);
    expect(again).toContain('pod-interface/default/db-1/eth0');
    expect(again).not.toContain('pod-interface/default/db-0/eth0');
  });
});

describe('Pipeline: services', () => {
  const svcJson = (clusterIp: string) =>
    JSON.stringify({
      namespace: 'default',
      name: 'web',
      type: 'ClusterIP',
      clusterIps: [clusterIp],
      ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    });
  const epsJson = (ips: string[]) =>
    JSON.stringify({
      namespace: 'default',
      service: 'web',
      subsets: [
        {
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
          endpoints: ips.map((ip) => ({ addresses: [ip], nodeName: 'n2', ready: true })),
        },
      ],
    });

  it('renders a Service on resync and re-renders only it when it or its endpoints change', async () => {
    const view = new ClusterView();
    view.apply({ kind: 'service', namespace: 'default', name: 'web' }, svcJson('10.96.0.10'));
    const { p, scheduler } = pipeline([], view);
    await p.resync(true, 'start');
    expect(scheduler.resyncs[0]!.desired.map((i) => i.key)).toContain('service/0/tcp/10.96.0.10/80');

    const ep = view.apply({ kind: 'endpoints', namespace: 'default', name: 'web' }, epsJson(['10.1.2.7']));
    await p.onViewChanges([ep!]);
    expect(
      scheduler.commits
        .at(-1)!
        .changes.map((c) => [c.key, (c.value as { backends: unknown[] }).backends.length]),
    ).toEqual([['service/0/tcp/10.96.0.10/80', 1]]);
    // A new cluster IP (Service recreated): the old frontend goes, the new one comes.
    const moved = view.apply({ kind: 'service', namespace: 'default', name: 'web' }, svcJson('10.96.0.11'));
    await p.onViewChanges([moved!]);
    expect(summary(scheduler.commits.at(-1)!.changes)).toEqual({
      put: ['service/0/tcp/10.96.0.11/80'],
      removed: ['service/0/tcp/10.96.0.10/80'],
    });
    // Deleted: its frontend goes; the endpoints alone render nothing.
    const gone = view.apply({ kind: 'service', namespace: 'default', name: 'web' }, undefined);
    await p.onViewChanges([gone!]);
    expect(summary(scheduler.commits.at(-1)!.changes)).toEqual({
      put: [],
      removed: ['service/0/tcp/10.96.0.11/80'],
    });
    expect(await p.onViewChanges([ep!])).toBeUndefined();
  });
});

describe('Pipeline: policies', () => {
  const put = (view: ClusterView, ref: Parameters<ClusterView['apply']>[0], value: unknown) =>
    view.apply(ref, JSON.stringify(value))!;
  const podJson = (name: string, ip: string, labels: Record<string, string>, node = 'n1') => ({
    namespace: 'default',
    name,
    labels,
    nodeName: node,
    podIps: [ip],
    phase: 'Running',
  });

  it("a pod's policy is committed with its interface; a peer's label change touches only the peer set", async () => {
    const view = new ClusterView();
    put(view, { kind: 'namespace', name: 'default' }, { name: 'default', labels: {} });
    put(
      view,
      { kind: 'pod', namespace: 'default', name: 'web-0' },
      podJson('web-0', '10.1.1.10', { app: 'web' }),
    );
    put(
      view,
      { kind: 'pod', namespace: 'default', name: 'cli' },
      podJson('cli', '10.1.2.5', { role: 'other' }, 'n2'),
    );
    put(
      view,
      { kind: 'policy', namespace: 'default', name: 'web' },
      {
        namespace: 'default',
        name: 'web',
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Ingress'],
        ingress: [{ peers: [{ podSelector: { matchLabels: { role: 'client' } } }] }],
      },
    );
    const { p, scheduler } = pipeline([], view);
    await p.resync(true, 'start');
    const added = await p.attachPod(att('c1', '10.1.1.10', 'web-0'), 'add');
    expect(added.items.map((i) => i.key)).toEqual([
      'pod-interface/default/web-0/eth0',
      'route/0/10.1.1.10/32',
      'policy/default/web-0/eth0',
    ]);
    const first = scheduler.commits.at(-1)!.changes.map((c) => c.key);
    expect(first).toContain('policy/default/web-0/eth0');
    expect(first.some((k) => k.startsWith('peer-set/'))).toBe(true);
    // The client gets the label: one change, the set's members.
    const relabel = put(
      view,
      { kind: 'pod', namespace: 'default', name: 'cli' },
      podJson('cli', '10.1.2.5', { role: 'client' }, 'n2'),
    );
    await p.onViewChanges([relabel]);
    const changed = scheduler.commits.at(-1)!.changes;
    expect(changed.map((c) => c.key)).toHaveLength(1);
    expect(changed[0]!.key).toMatch(/^peer-set\//);
    expect((changed[0]!.value as { addresses: string[] }).addresses).toEqual(['10.1.2.5']);
    // The pod leaves: its policy goes with it and is among what DEL waits on.
    const left = await p.detachPod(att('c1', '10.1.1.10', 'web-0'), 'del');
    expect(left.gone).toEqual([
      'pod-interface/default/web-0/eth0',
      'route/0/10.1.1.10/32',
      'policy/default/web-0/eth0',
    ]);
  });
});

describe('Pipeline: custom networks', () => {
  const blueJson = (over: Record<string, unknown> = {}): string =>
    JSON.stringify({
      name: 'team/blue',
      id: 4,
      subnets: ['10.20.0.0/16'],
      vni: 4100,
      nodePrefixLength: 24,
      gatewayOffset: 1,
      ...over,
    });
  const blueRef = { kind: 'network', namespace: 'team', name: 'blue' } as const;
  const inBlue: Attachment = { ...att('cb', '10.20.1.9', 'db-0'), namespace: 'team', network: 'team/blue' };
  const bluePod = 'pod-interface/team/db-0/eth0';

  it("renders a network's items in a resync and wires its pods in its VRF", async () => {
    const view = new ClusterView();
    view.apply(blueRef, blueJson());
    const { p, scheduler } = pipeline([inBlue], view);
    await p.resync(false, 'start');
    const desired = new Map(scheduler.resyncs[0]!.desired.map((i) => [i.key, i.value]));
    expect([...desired.keys()].filter((k) => /^(vrf|address\/4|route\/[04]\/10\.20)/.test(k)).sort()).toEqual(
      ['address/4/10.20.1.1', 'route/0/10.20.0.0/16', 'route/4/10.20.1.9/32', 'vrf/4'],
    );
    expect(desired.get(bluePod)).toMatchObject({ vrf: 4, gateway: '10.20.1.1' });
    expect(p.network('team/blue')?.block.cidr).toBe('10.20.1.0/24');
  });

  it('a network appearing wires the pods waiting for it; its items go when it is gone and unused', async () => {
    const view = new ClusterView();
    const { p, scheduler } = pipeline([], view);
    await p.resync(false, 'start');
    const change = view.apply(blueRef, blueJson())!;
    await p.onViewChanges([change]);
    expect(summary(scheduler.commits.at(-1)!.changes).put).toContain('vrf/4');
    const gone = view.apply(blueRef, undefined)!;
    await p.onViewChanges([gone]);
    expect(summary(scheduler.commits.at(-1)!.changes).removed).toEqual(
      expect.arrayContaining(['vrf/4', 'address/4/10.20.1.1', 'route/0/10.20.0.0/16']),
    );
  });

  it('keeps a network its pods still use when the record goes or turns unusable', async () => {
    const view = new ClusterView();
    view.apply(blueRef, blueJson());
    const { p, scheduler } = pipeline([inBlue], view);
    await p.resync(false, 'start');
    expect(await p.onViewChanges([view.apply(blueRef, blueJson({ vni: 0 }))!])).toBeUndefined();
    expect(await p.onViewChanges([view.apply(blueRef, undefined)!])).toBeUndefined();
    expect(p.network('team/blue')?.id).toBe(4);
    // The pod leaves: now the network's items go.
    await p.detachPod(inBlue, 'del');
    await p.onViewChanges([
      view.apply({ kind: 'namespace', name: 'team' }, JSON.stringify({ name: 'team' }))!,
    ]);
    expect(p.network('team/blue')).toBeUndefined();
    expect(scheduler.commits.flatMap((c) => summary(c.changes).removed)).toContain('vrf/4');
  });

  it("renders each peer's block of every network through the network's tunnel", async () => {
    const view = new ClusterView();
    view.apply(blueRef, blueJson());
    view.apply({ kind: 'nodeId', id: '5' }, 'n5');
    view.apply(
      { kind: 'nodeInfo', name: 'n5' },
      JSON.stringify({ name: 'n5', id: 5, tunnelEndpoint: '192.168.0.5', podSubnet: '10.1.5.0/24' }),
    );
    const scheduler = recorder();
    const p = new Pipeline({
      ctx: testNodeContext(),
      view,
      scheduler,
      attachments: [],
      subnetOf: (id) => `10.1.${id}.0/24`,
      gatewayOffset: 1,
      logger: silentLogger(),
    });
    await p.resync(false, 'start');
    const keys = scheduler.resyncs[0]!.desired.map((i) => i.key);
    expect(keys).toEqual(expect.arrayContaining(['tunnel/4100/n5', 'route/4/10.20.5.0/24', 'tunnel/10/n5']));
  });
});
