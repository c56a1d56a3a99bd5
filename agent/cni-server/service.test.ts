import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging.ts';
import type { CniRequest__Output } from '../../proto/gen/netloom/cni/v1/CniRequest.ts';
import { linuxDriverWith } from '../dataplane/linux/driver.ts';
import { FakeKernel } from '../dataplane/linux/fake/kernel.ts';
import type { Allocation, AllocationRequest } from '../ipam/allocator.ts';
import { podInterfaceKey } from '../items/keys.ts';
import { KvScheduler } from '../scheduler/scheduler.ts';
import { AttachmentStore } from '../attachments/store.ts';
import { testNodeContext } from '../renderers/testing.ts';
import { Pipeline } from '../pipeline/pipeline.ts';
import { ClusterView } from '../view/view.ts';
import type { IpamPort, Readiness } from './ports.ts';
import { CniService } from './service.ts';

class MemIpam implements IpamPort {
  readonly held = new Map<
    string,
    {
      ip: string;
      entry: { containerId: string; ifname: string; network: string; namespace: string; pod: string };
    }
  >();
  next = 10;
  failNext = false;
  /** When set, reserve() picks `picked` and persists what this returns (the overlap path). */
  reservation: { picked: string; persisted: () => Promise<Allocation> } | undefined;
  reserve(req: AllocationRequest): { ip: string; persisted: Promise<Allocation> } | undefined {
    const r = this.reservation;
    if (!r) return undefined;
    this.reservation = undefined;
    const persisted = r.persisted().then((a) => {
      this.held.set(a.ip, { ip: a.ip, entry: { ...req, network: req.network ?? '' } });
      return a;
    });
    return { ip: r.picked, persisted };
  }
  async allocate(req: AllocationRequest): Promise<Allocation> {
    if (this.failNext) {
      this.failNext = false;
      throw Object.assign(new Error('etcd unavailable'), { retriable: true });
    }
    for (const r of this.held.values()) {
      if (r.entry.containerId === req.containerId && r.entry.ifname === req.ifname)
        return { ip: r.ip, prefixLength: 24, gateway: '10.1.1.1', existing: true };
    }
    const ip = `10.1.1.${this.next++}`;
    this.held.set(ip, { ip, entry: { ...req, network: req.network ?? '' } });
    return { ip, prefixLength: 24, gateway: '10.1.1.1', existing: false };
  }
  async release(containerId: string, ifname?: string): Promise<string[]> {
    const out: string[] = [];
    for (const [ip, r] of this.held) {
      if (r.entry.containerId === containerId && (ifname === undefined || r.entry.ifname === ifname)) {
        this.held.delete(ip);
        out.push(ip);
      }
    }
    return out;
  }
  records(): { ip: string; entry: { containerId: string; ifname: string; network: string } }[] {
    return [...this.held.values()];
  }
}

const ctx = testNodeContext();

const dirs: string[] = [];
const attachmentsOnDisk = (dir: string): unknown[] => {
  const file = join(dir, 'attachments-test.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown[]) : [];
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

async function setup(
  opts: { ready?: Readiness; addTimeoutMs?: number; dir?: string; kernel?: FakeKernel; ipam?: MemIpam } = {},
) {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'netloom-cni-state-'));
  if (!opts.dir) dirs.push(dir);
  const kernel = opts.kernel ?? new FakeKernel();
  const scheduler = new KvScheduler({
    driver: linuxDriverWith(kernel.ports),
    logger: silentLogger(),
    retry: { initialMs: 20 },
  });
  const ipam = opts.ipam ?? new MemIpam();
  let ready: Readiness = opts.ready ?? { ready: true };
  const attachments = new AttachmentStore(dir, 'test');
  const pipeline = new Pipeline({
    ctx,
    view: new ClusterView(),
    scheduler,
    attachments: attachments.all(),
    subnetOf: () => undefined,
    gatewayOffset: 1,
    logger: silentLogger(),
  });
  const service = new CniService({
    ipam,
    attachments,
    pods: pipeline,
    items: scheduler,
    ready: () => ready,
    logger: silentLogger(),
    addTimeoutMs: opts.addTimeoutMs ?? 2_000,
  });
  await pipeline.resync(true, 'start');
  return { dir, kernel, scheduler, pipeline, ipam, service, setReady: (r: Readiness) => (ready = r) };
}

const req = (over: Partial<CniRequest__Output> = {}): CniRequest__Output => ({
  containerId: 'c1',
  netns: '/run/netns/p1',
  ifname: 'eth0',
  cniArgs: '',
  podNamespace: 'default',
  podName: 'web-0',
  podUid: 'u1',
  infraContainerId: '',
  cniVersion: '1.1.0',
  networkConfig: '{}',
  ...over,
});

describe('CniService', () => {
  it('answers ADD once the pod is wired, with host veth, pod interface and IPs', async () => {
    const t = await setup();
    t.kernel.namespaces.add('/run/netns/p1');
    const reply = await t.service.add(
      req({ networkConfig: JSON.stringify({ dns: { nameservers: ['10.96.0.10'] } }) }),
    );
    expect(reply.error).toBeUndefined();
    const host = reply.result?.interfaces?.[0];
    expect(host).toMatchObject({ mac: 'ee:ee:ee:ee:ee:ee', mtu: 1450, sandbox: '' });
    expect(host?.name).toMatch(/^nl[0-9a-f]{12}$/);
    expect(reply.result?.interfaces?.[1]).toEqual({
      name: 'eth0',
      mac: '0a:58:0a:01:01:0a',
      mtu: 1450,
      sandbox: '/run/netns/p1',
    });
    expect(reply.result?.ips).toEqual([{ address: '10.1.1.10/32', gateway: '169.254.1.1', interface: 1 }]);
    expect(reply.result?.routes).toEqual([{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);
    expect(reply.result?.dns?.nameservers).toEqual(['10.96.0.10']);
    expect(t.kernel.dump()).toContain(
      `veth ${host?.name} mtu 1450 up alias pod-interface/default/web-0/eth0 peer /run/netns/p1:eth0`,
    );
    expect(t.scheduler.status(podInterfaceKey('default', 'web-0', 'eth0'))?.state).toBe('configured');
    // A repeated ADD without DEL is an error (the spec: the interface already exists), and the
    // pod stays as it was; after DEL, ADD works again.
    const before = t.kernel.dump();
    const again = await t.service.add(req());
    expect(again.error).toMatchObject({ code: 101 });
    expect(again.error?.msg).toContain('already exists');
    expect(t.kernel.dump()).toBe(before);
    expect(t.ipam.held.size).toBe(1);
    expect((await t.service.del(req())).error).toBeUndefined();
    expect((await t.service.add(req())).error).toBeUndefined();
  });

  it('DEL removes everything and succeeds again when nothing is left', async () => {
    const t = await setup();
    t.kernel.namespaces.add('/run/netns/p1');
    await t.service.add(req());
    expect((await t.service.del(req({ netns: '' }))).error).toBeUndefined();
    expect(t.kernel.dump()).not.toContain('veth');
    expect(t.kernel.dump()).not.toContain('10.1.1.10');
    expect(t.ipam.held.size).toBe(0);
    expect(attachmentsOnDisk(t.dir)).toEqual([]);
    expect((await t.service.del(req({ netns: '' }))).error).toBeUndefined();
    expect((await t.service.del(req({ containerId: 'never-seen' }))).error).toBeUndefined();
  });

  it('rolls back an ADD the data plane refuses: no address, record or interface left', async () => {
    const t = await setup();
    // No such namespace: the kernel refuses the veth (not retriable).
    const reply = await t.service.add(req());
    expect(reply.error?.code).toBe(100);
    expect(reply.error?.details).toContain('pod-interface/default/web-0/eth0: failed');
    expect(t.ipam.held.size).toBe(0);
    expect(attachmentsOnDisk(t.dir)).toEqual([]);
    expect(t.kernel.dump()).not.toContain('veth');
    expect(t.scheduler.desiredItems().some((i) => i.key.startsWith('pod-interface/'))).toBe(false);
  });

  it('answers 11 when not ready or when the pod is not wired in time, and STATUS 50', async () => {
    const t = await setup({ ready: { ready: false, reason: 'node ID not claimed' }, addTimeoutMs: 300 });
    t.kernel.namespaces.add('/run/netns/p1');
    expect((await t.service.add(req())).error).toMatchObject({
      code: 11,
      msg: 'netloom agent not ready: node ID not claimed',
    });
    expect((await t.service.status()).error?.code).toBe(50);
    t.setReady({ ready: true });
    expect((await t.service.status()).error).toBeUndefined();
    t.kernel.failNext('wire', 'busy', 1000);
    const slow = await t.service.add(req());
    expect(slow.error?.code).toBe(11);
    expect(t.ipam.held.size).toBe(0);
    t.ipam.failNext = true;
    expect((await t.service.add(req())).error?.code).toBe(11);
  });

  it('fails ADD when the interface already exists in the pod, leaving the other one alone', async () => {
    const t = await setup();
    t.kernel.namespaces.add('/run/netns/p1');
    expect((await t.service.add(req())).error).toBeUndefined();
    const clash = await t.service.add(req({ containerId: 'c2', podName: 'web-1' }));
    expect(clash.error?.code).toBe(100);
    expect(clash.error?.details).toContain('File exists');
    expect(t.kernel.dump()).toContain('alias pod-interface/default/web-0/eth0 peer /run/netns/p1:eth0');
    expect(t.ipam.records().map((r) => r.entry.containerId)).toEqual(['c1']);
  });

  it('refuses bad requests with code 4', async () => {
    const t = await setup();
    expect((await t.service.add(req({ containerId: '-bad' }))).error?.code).toBe(4);
    expect((await t.service.add(req({ netns: '' }))).error?.code).toBe(4);
    expect((await t.service.add(req({ ifname: 'a-name-much-too-long' }))).error?.code).toBe(4);
    expect((await t.service.add(req({ podName: 'Bad/Name' }))).error?.code).toBe(4);
  });

  it('serialises operations on one container: ADD and DEL racing end consistent', async () => {
    const t = await setup();
    t.kernel.namespaces.add('/run/netns/p1');
    const [add, del] = await Promise.all([t.service.add(req()), t.service.del(req())]);
    expect(add.error).toBeUndefined();
    expect(del.error).toBeUndefined();
    // DEL came second: nothing is left.
    expect(t.ipam.held.size).toBe(0);
    expect(t.kernel.dump()).not.toContain('veth');
  });

  it('CHECK passes on a wired pod and fails on an unknown one or a drifted one', async () => {
    const t = await setup();
    t.kernel.namespaces.add('/run/netns/p1');
    await t.service.add(req());
    expect(
      (
        await t.service.check(
          req({ networkConfig: JSON.stringify({ prevResult: { ips: [{ address: '10.1.1.10/32' }] } }) }),
        )
      ).error,
    ).toBeUndefined();
    expect((await t.service.check(req({ containerId: 'other' }))).error?.code).toBe(3);
    expect((await t.service.check(req({ netns: '/run/netns/elsewhere' }))).error?.code).toBe(5);
  });

  it('GC tears down attachments missing from the valid list, accepting both spellings', async () => {
    const t = await setup();
    for (const i of [1, 2, 3]) {
      t.kernel.namespaces.add(`/run/netns/p${i}`);
      expect(
        (await t.service.add(req({ containerId: `c${i}`, netns: `/run/netns/p${i}`, podName: `web-${i}` })))
          .error,
      ).toBeUndefined();
    }
    // A leaked allocation: an ADD that died between IPAM and its record.
    await t.ipam.allocate({ namespace: 'default', pod: 'ghost', containerId: 'c9', ifname: 'eth0' });
    const networkConfig = JSON.stringify({ 'cni.dev/attachments': [{ containerID: 'c2', ifname: 'eth0' }] });
    const reply = await t.service.gc({
      cniVersion: '1.1.0',
      networkConfig,
      validAttachments: [{ containerId: 'c1', ifname: 'eth0' }],
    });
    expect(reply.error).toBeUndefined();
    expect(
      t.ipam
        .records()
        .map((r) => r.entry.containerId)
        .sort(),
    ).toEqual(['c1', 'c2']);
    expect(t.kernel.dump()).not.toContain('web-3');
    expect(t.kernel.dump()).toContain('web-1');
    expect(t.kernel.dump()).toContain('web-2');
  });

  it('a replaced sandbox takes over its pod, and the old sandbox DEL leaves it alone', async () => {
    const t = await setup();
    t.kernel.namespaces.add('/run/netns/old');
    t.kernel.namespaces.add('/run/netns/new');
    await t.service.add(req({ containerId: 'old', netns: '/run/netns/old' }));
    const fresh = await t.service.add(req({ containerId: 'new', netns: '/run/netns/new' }));
    expect(fresh.error).toBeUndefined();
    expect((await t.service.del(req({ containerId: 'old', netns: '/run/netns/old' }))).error).toBeUndefined();
    const dump = t.kernel.dump();
    expect(dump).toContain('peer /run/netns/new:eth0');
    expect(dump).not.toContain('/run/netns/old');
    expect(dump).toContain('route main unicast 10.1.1.11/32');
    expect(dump).not.toContain('10.1.1.10/32');
  });

  it('a restarted agent re-renders its pods from the state directory: zero changes', async () => {
    const t = await setup();
    t.kernel.namespaces.add('/run/netns/p1');
    await t.service.add(req());
    const changes = t.kernel.changes().length;
    const again = await setup({ dir: t.dir, kernel: t.kernel, ipam: t.ipam });
    expect(t.kernel.changes().length).toBe(changes);
    expect(again.scheduler.status(podInterfaceKey('default', 'web-0', 'eth0'))?.state).toBe('configured');
    expect(
      again.pipeline
        .desiredItems()
        .map((i) => i.key)
        .filter((k) => k.startsWith('pod-interface/') || k === 'route/0/10.1.1.10/32'),
    ).toEqual(['pod-interface/default/web-0/eth0', 'route/0/10.1.1.10/32']);
    expect((await again.service.del(req())).error).toBeUndefined();
    expect(t.kernel.dump()).not.toContain('veth');
  });

  it('wires while the address is written; answers with the address IPAM settled on when the picked one was taken', async () => {
    const t = await setup();
    t.kernel.namespaces.add('/run/netns/p1');
    t.ipam.reservation = {
      picked: '10.1.1.50',
      // The write lands after the wiring has started, and names another address.
      persisted: () =>
        new Promise((r) =>
          setTimeout(
            () => r({ ip: '10.1.1.51', prefixLength: 24, gateway: '10.1.1.1', existing: false }),
            30,
          ),
        ),
    };
    const reply = await t.service.add(req());
    expect(reply.error).toBeUndefined();
    expect(reply.result?.ips?.[0]?.address).toBe('10.1.1.51/32');
    expect(t.kernel.dump()).toContain('addrs 10.1.1.51/32');
    expect(t.kernel.dump()).not.toContain('10.1.1.50');
    expect(attachmentsOnDisk(t.dir)).toMatchObject([{ containerId: 'c1', ip: '10.1.1.51' }]);
  });

  it('a write that fails after the wiring started leaves nothing: no interface, no attachment, no address', async () => {
    const t = await setup();
    t.kernel.namespaces.add('/run/netns/p1');
    t.ipam.reservation = {
      picked: '10.1.1.60',
      persisted: () =>
        new Promise((_, reject) =>
          setTimeout(() => reject(Object.assign(new Error('etcd unavailable'), { retriable: true })), 30),
        ),
    };
    const reply = await t.service.add(req());
    expect(reply.error).toMatchObject({ code: 11 });
    expect(reply.error?.msg).toContain('IPAM');
    expect(t.kernel.dump()).not.toContain('veth');
    expect(attachmentsOnDisk(t.dir)).toEqual([]);
    expect(t.ipam.records()).toEqual([]);
  });
});
