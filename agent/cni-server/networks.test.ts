// The CNI service with custom networks and extra interfaces: the pod's primary network from
// its annotations, native extras in netloom networks (IPAM from the node's block, wired in the
// network's VRF), delegated extras (another plugin, called with the selection), rollback of
// everything when one attachment fails, DEL of extras first, GC keeping a valid pod's extras.
// The data plane is the Linux driver over the fake kernel; the plugins are recorded fakes (the
// real ones run in agent/multinet's and the lab's tests).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging.ts';
import type { CniRequest__Output } from '../../proto/gen/netloom/cni/v1/CniRequest.ts';
import { AttachmentStore } from '../attachments/store.ts';
import { linuxDriverWith } from '../dataplane/linux/driver.ts';
import { FakeKernel } from '../dataplane/linux/fake/kernel.ts';
import type { Allocation, AllocationRequest } from '../ipam/allocator.ts';
import type { DelegateResult } from '../multinet/delegate.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { testNodeContext } from '../renderers/testing.ts';
import { KvScheduler } from '../scheduler/scheduler.ts';
import { ClusterView } from '../view/view.ts';
import { podNetworks } from './pod-networks.ts';
import type { DelegateCall, IpamPort, NetworksPort } from './ports.ts';
import { CniService } from './service.ts';

const ctx = testNodeContext();
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** IPAM handing out addresses of each network's block of node 1, in order. */
class BlockIpam implements IpamPort {
  readonly held = new Map<string, { ip: string; entry: AllocationRequest & { network: string } }>();
  private readonly next = new Map<string, number>();
  private readonly blockOf: (network: string) => string;
  constructor(blockOf: (network: string) => string) {
    this.blockOf = blockOf;
  }
  allocate(req: AllocationRequest): Promise<Allocation> {
    const network = req.network ?? '';
    const n = this.next.get(network) ?? 10;
    this.next.set(network, n + 1);
    return this.allocateExact(req, this.blockOf(network).replace(/\.0\/\d+$/, `.${n}`));
  }
  allocateExact(req: AllocationRequest, ip: string): Promise<Allocation> {
    if (this.held.has(ip)) return Promise.reject(new Error(`${ip} taken`));
    this.held.set(ip, { ip, entry: { ...req, network: req.network ?? '' } });
    return Promise.resolve({ ip, prefixLength: 24, gateway: '', existing: false });
  }
  release(containerId: string, ifname?: string): Promise<string[]> {
    const out: string[] = [];
    for (const [ip, r] of this.held)
      if (r.entry.containerId === containerId && (ifname === undefined || r.entry.ifname === ifname)) {
        this.held.delete(ip);
        out.push(ip);
      }
    return Promise.resolve(out);
  }
  records(): { ip: string; entry: { containerId: string; ifname: string; network: string } }[] {
    return [...this.held.values()];
  }
}

const network = (ns: string, name: string, id: number, subnet: string): [string, string] => [
  `${ns}/${name}`,
  JSON.stringify({
    name: `${ns}/${name}`,
    id,
    subnets: [subnet],
    vni: 4096 + id,
    nodePrefixLength: 24,
    gatewayOffset: 1,
  }),
];

async function setup(annotations: Record<string, string>, nsAnnotations: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'netloom-cni-nets-'));
  dirs.push(dir);
  const view = new ClusterView();
  for (const [name, json] of [
    network('shop', 'blue', 3, '10.20.0.0/16'),
    network('shop', 'red', 4, '10.30.0.0/16'),
  ]) {
    const [ns, n] = name.split('/') as [string, string];
    view.apply({ kind: 'network', namespace: ns, name: n }, json);
    view.apply(
      { kind: 'netattach', namespace: ns, name: n },
      JSON.stringify({
        namespace: ns,
        name: n,
        config: JSON.stringify({ cniVersion: '1.0.0', type: 'netloom', subnet: '10.0.0.0/8' }),
      }),
    );
  }
  view.apply(
    { kind: 'netattach', namespace: 'shop', name: 'mv' },
    JSON.stringify({
      namespace: 'shop',
      name: 'mv',
      config: JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master: 'eth1' }),
    }),
  );
  view.apply(
    { kind: 'namespace', name: 'shop' },
    JSON.stringify({ name: 'shop', annotations: nsAnnotations }),
  );
  view.apply(
    { kind: 'pod', namespace: 'shop', name: 'web-0' },
    JSON.stringify({ namespace: 'shop', name: 'web-0', uid: 'u1', annotations }),
  );
  const kernel = new FakeKernel();
  kernel.namespaces.add('/run/netns/p1');
  const scheduler = new KvScheduler({
    driver: linuxDriverWith(kernel.ports),
    logger: silentLogger(),
    retry: { initialMs: 20 },
  });
  const attachments = new AttachmentStore(dir, 'test');
  const pipeline = new Pipeline({
    ctx,
    view,
    scheduler,
    attachments: [],
    subnetOf: () => undefined,
    gatewayOffset: 1,
    logger: silentLogger(),
  });
  const ipam = new BlockIpam((n) => (n === '' ? ctx.podSubnet : pipeline.network(n)!.block.cidr));
  const calls: { op: string; call: DelegateCall }[] = [];
  let failDelegate = false;
  let published = 0;
  const defaultRoutes: string[] = [];
  const networks: NetworksPort = {
    plan: (id) =>
      Promise.resolve(
        podNetworks({
          pod: view.pods.get(`${id.namespace}/${id.pod}`),
          namespaceAnnotations: view.namespaces.get(id.namespace)?.annotations,
          nad: (name) => view.netattachs.get(name),
          network: (name) => pipeline.network(name),
          primaryIfname: id.ifname,
        }),
      ),
    delegateAdd: (call) => {
      calls.push({ op: 'add', call });
      if (failDelegate) return Promise.reject(new Error('plugin failed'));
      const result: DelegateResult = {
        result: JSON.stringify({ cniVersion: '1.0.0', ips: [{ address: '192.0.2.5/24' }] }),
        cniVersion: '1.0.0',
        attachment: { interface: call.ifname, ips: ['192.0.2.5'], mac: '02:00:00:00:00:05' },
      };
      return Promise.resolve(result);
    },
    delegateDel: (call) => {
      calls.push({ op: 'del', call });
      return Promise.resolve();
    },
    delegateCheck: (call) => {
      calls.push({ op: 'check', call });
      return Promise.resolve();
    },
    setDefaultRoute: (netns, ifname, gateway) => {
      defaultRoutes.push(`${netns} ${ifname} ${gateway}`);
      return Promise.resolve();
    },
    changed: () => void published++,
  };
  const service = new CniService({
    ipam,
    attachments,
    pods: pipeline,
    items: scheduler,
    ready: () => ({ ready: true }),
    logger: silentLogger(),
    addTimeoutMs: 2_000,
    networks,
  });
  await pipeline.resync(true, 'start');
  return {
    service,
    kernel,
    ipam,
    attachments,
    scheduler,
    calls,
    defaultRoutes,
    failDelegate: () => (failDelegate = true),
    published: () => published,
  };
}

const req = (over: Partial<CniRequest__Output> = {}): CniRequest__Output => ({
  containerId: 'c1',
  netns: '/run/netns/p1',
  ifname: 'eth0',
  cniArgs: '',
  podNamespace: 'shop',
  podName: 'web-0',
  podUid: 'u1',
  infraContainerId: '',
  cniVersion: '1.1.0',
  networkConfig: '{}',
  ...over,
});

describe('CniService with networks', () => {
  it("puts the primary interface in the namespace's network, with an address of the node's block", async () => {
    const t = await setup({}, { 'opencontrail.org/network': 'blue' });
    const reply = await t.service.add(req());
    expect(reply.error).toBeUndefined();
    expect(reply.result?.ips?.[0]?.address).toBe('10.20.1.10/32');
    expect(t.attachments.get('c1', 'eth0')).toMatchObject({ network: 'shop/blue', podUid: 'u1' });
    expect(t.scheduler.status('pod-interface/shop/web-0/eth0')?.state).toBe('configured');
    expect(t.scheduler.applied('route/3/10.20.1.10/32')).toBeDefined();
    expect(t.published()).toBe(1);
  });

  it("the pod's own annotation wins over its namespace's", async () => {
    const t = await setup({ 'opencontrail.org/network': 'red' }, { 'opencontrail.org/network': 'blue' });
    expect((await t.service.add(req())).result?.ips?.[0]?.address).toBe('10.30.1.10/32');
  });

  it('attaches native and delegated extras in order, with requested addresses and MACs, and DELs them first', async () => {
    const t = await setup({
      'k8s.v1.cni.cncf.io/networks': JSON.stringify([
        { name: 'blue', ips: ['10.20.1.77/24'], mac: '02:aa:00:00:00:01' },
        { name: 'mv', interface: 'data0', ips: ['192.0.2.5/24'], mac: '02:00:00:00:00:05' },
      ]),
    });
    const reply = await t.service.add(req());
    expect(reply.error).toBeUndefined();
    // The result is the primary's (as Multus answers with the default network's).
    expect(reply.result?.ips?.map((i) => i.address)).toEqual(['10.1.1.10/32']);
    expect(t.attachments.get('c1', 'net1')).toMatchObject({
      ip: '10.20.1.77',
      network: 'shop/blue',
      extra: true,
    });
    expect(t.scheduler.applied('pod-interface/shop/web-0/net1')?.value).toMatchObject({
      vrf: 3,
      gateway: '',
      routes: ['10.20.0.0/16'],
      mac: '02:aa:00:00:00:01',
    });
    expect(t.calls.map((c) => [c.op, c.call.ifname, c.call.selection])).toEqual([
      ['add', 'data0', { ips: ['192.0.2.5/24'], mac: '02:00:00:00:00:05' }],
    ]);
    expect(t.attachments.get('c1', 'data0')?.delegated).toMatchObject({
      attachmentDefinition: 'shop/mv',
      ips: ['192.0.2.5'],
      mac: '02:00:00:00:00:05',
    });
    expect((await t.service.check(req())).error).toBeUndefined();
    expect(t.calls.at(-1)?.op).toBe('check');

    expect((await t.service.del(req({ netns: '' }))).error).toBeUndefined();
    expect(t.calls.at(-1)).toMatchObject({ op: 'del', call: { ifname: 'data0' } });
    expect(JSON.parse(t.calls.at(-1)!.call.prevResult!)).toMatchObject({
      ips: [{ address: '192.0.2.5/24' }],
    });
    expect(t.attachments.all()).toEqual([]);
    expect(t.ipam.held.size).toBe(0);
    expect(t.kernel.dump()).not.toContain('veth');
  });

  it('a failing extra fails the pod and leaves nothing of it', async () => {
    const t = await setup({ 'k8s.v1.cni.cncf.io/networks': 'blue, mv' });
    t.failDelegate();
    const reply = await t.service.add(req());
    expect(reply.error?.msg).toContain('plugin failed');
    expect(t.attachments.all()).toEqual([]);
    expect(t.ipam.held.size).toBe(0);
    expect(t.kernel.dump()).not.toContain('veth');
  });

  it('refuses a requested address outside the node block, a malformed annotation, and an unknown NAD', async () => {
    const outside = await setup({
      'k8s.v1.cni.cncf.io/networks': '[{"name":"blue","ips":["10.20.9.5/24"]}]',
    });
    const r1 = await outside.service.add(req());
    expect(r1.error).toMatchObject({ code: 7 });
    expect(r1.error?.msg).toMatch(/outside 10\.20\.1\.0\/24/);
    expect(outside.attachments.all()).toEqual([]);
    const bad = await setup({ 'k8s.v1.cni.cncf.io/networks': '[{"name":' });
    expect((await bad.service.add(req())).error).toMatchObject({ code: 7 });
    const unknown = await setup({ 'k8s.v1.cni.cncf.io/networks': 'nowhere' });
    const r3 = await unknown.service.add(req());
    expect(r3.error).toMatchObject({ code: 11 });
    expect(r3.error?.msg).toMatch(/no NetworkAttachmentDefinition shop\/nowhere/);
    const noNet = await setup({}, { 'opencontrail.org/network': 'green' });
    expect((await noNet.service.add(req())).error).toMatchObject({ code: 11 });
    expect(noNet.attachments.all()).toEqual([]);
  });

  it("GC keeps a valid container's extra interfaces and removes a stale container's", async () => {
    const t = await setup({ 'k8s.v1.cni.cncf.io/networks': 'blue' });
    await t.service.add(req());
    const gcReq = (ids: string[]) => ({
      networkConfig: '{}',
      cniVersion: '1.1.0',
      validAttachments: ids.map((containerId) => ({ containerId, ifname: 'eth0' })),
    });
    expect((await t.service.gc(gcReq(['c1']))).error).toBeUndefined();
    expect(t.attachments.all().map((a) => a.ifname)).toEqual(['eth0', 'net1']);
    expect((await t.service.gc(gcReq([]))).error).toBeUndefined();
    expect(t.attachments.all()).toEqual([]);
    expect(t.ipam.held.size).toBe(0);
  });

  it('moves the default route to a delegated interface asked for it: the primary routes the cluster only', async () => {
    const t = await setup({
      'k8s.v1.cni.cncf.io/networks': JSON.stringify([{ name: 'mv', 'default-route': ['192.0.2.1'] }]),
    });
    expect((await t.service.add(req())).error).toBeUndefined();
    expect(t.defaultRoutes).toEqual(['/run/netns/p1 net1 192.0.2.1']);
    expect(t.scheduler.applied('pod-interface/shop/web-0/eth0')?.value).toMatchObject({
      gateway: '',
      routes: ['10.1.0.0/16', '10.96.0.0/12'],
    });
    expect(t.attachments.get('c1', 'net1')?.defaultRoute).toEqual(['192.0.2.1']);
  });

  it("moves it to a netloom network's interface only through this node's gateway there", async () => {
    const ok = await setup({
      'k8s.v1.cni.cncf.io/networks': JSON.stringify([{ name: 'blue', 'default-route': ['10.20.1.1'] }]),
    });
    expect((await ok.service.add(req())).error).toBeUndefined();
    expect(ok.scheduler.applied('pod-interface/shop/web-0/net1')?.value).toMatchObject({
      gateway: '10.20.1.1',
    });
    expect(ok.scheduler.applied('pod-interface/shop/web-0/net1')?.value).not.toHaveProperty('routes');
    expect(ok.scheduler.applied('pod-interface/shop/web-0/eth0')?.value).toMatchObject({ gateway: '' });
    const wrong = await setup({
      'k8s.v1.cni.cncf.io/networks': JSON.stringify([{ name: 'blue', 'default-route': ['10.20.1.254'] }]),
    });
    const r = await wrong.service.add(req());
    expect(r.error).toMatchObject({ code: 7 });
    expect(r.error?.msg).toMatch(/must be 10\.20\.1\.1/);
    const twice = await setup({
      'k8s.v1.cni.cncf.io/networks': JSON.stringify([
        { name: 'blue', 'default-route': ['10.20.1.1'] },
        { name: 'mv', 'default-route': ['192.0.2.1'] },
      ]),
    });
    expect((await twice.service.add(req())).error?.msg).toMatch(/a pod has one default route/);
    expect(twice.attachments.all()).toEqual([]);
  });
});
