// Custom networks and multi-net in the lab, with real packets, as a user tries them:
// - NetworkAttachmentDefinitions of netloom's form (`"type": "netloom"`) and Contrail's
//   (`opencontrail.org/cidr`) become networks; pods join them with `opencontrail.org/network`
//   on the pod or on their namespace;
// - network A reaches itself across nodes; A and B, A and the default network, do not reach
//   each other; a Service whose endpoints are in A answers pods in A;
// - a pod with two extra interfaces — one in netloom network A (requested MAC), one macvlan by
//   delegation to the reference plugin (requested address and MAC, a route from the NAD) — has
//   them as asked, reaches A's pods through its A interface, and its network-status annotation
//   is exact; deleting it leaves nothing in IPAM, in the attachments or on the node.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get } from '../cli/lab/http.ts';
import type { SimulatorStatus } from '../cli/lab/kubelet/simulator.ts';
import { inNetns, runProcess } from '../lib/iproute.ts';
import { skipUnless } from './harness/availability.ts';
import { labAvailable, TestLab, waitFor } from './lab-support.ts';

const skip = skipUnless('lab networks (test/lab-networks.test.ts)', labAvailable());
const REACH = join(import.meta.dirname, 'lab', 'reach.ts');
const PROBE = join(import.meta.dirname, 'lab', 'service-probe.ts');
const NS = 'nets';
const BLUE_NS = 'blue-team';

const nad = (name: string, config: object | string, annotations: Record<string, string> = {}) => ({
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name, namespace: NS, annotations },
  spec: { config: typeof config === 'string' ? config : JSON.stringify(config) },
});

const pod = (
  name: string,
  node: string,
  annotations: Record<string, string>,
  namespace = NS,
  labels: Record<string, string> = {},
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, annotations, labels: { lab: 'networks', name, ...labels } },
  spec: {
    nodeName: node,
    containers: [{ name: 'echo', image: 'echo', ports: [{ containerPort: 8080, name: 'http' }] }],
  },
});

const MULTI_MAC_BLUE = '02:bb:00:00:00:01';
const MULTI_MAC_MV = '02:cc:00:00:00:01';
const MULTI_MV_IP = '192.168.77.10';

describe.skipIf(skip)('netloom lab: custom networks and multi-net', () => {
  const lab = new TestLab({ nodes: 2 });
  let node1 = '';
  let node2 = '';
  const netns = new Map<string, string>();
  const ips = new Map<string, string>();
  let multiBlueIp = '';

  const inPod = async (name: string, cmd: string, args: string[]): Promise<string> => {
    const [c, argv] = inNetns(netns.get(name), cmd, args);
    const res = await runProcess(c, argv, { timeoutMs: 60_000 });
    if (res.code !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${name}: ${res.stderr}`);
    return res.stdout;
  };
  /** TCP connect from a pod to ip:8080, for each target (true = connected). */
  const reach = async (from: string, targets: string[]): Promise<Record<string, boolean>> => {
    const out = JSON.parse(
      await inPod(from, process.execPath, [REACH, ...targets.map((ip) => `tcp:${ip}:8080`)]),
    ) as Record<string, boolean>;
    return Object.fromEntries(targets.map((ip) => [ip, out[`tcp:${ip}:8080`]!]));
  };
  const podsReady = async (namespace: string, n: number) =>
    waitFor(
      `${n} pods running in ${namespace}`,
      async () => {
        const p = await lab.pods('lab=networks', namespace);
        return p.size === n && [...p.values()].every((x) => x.ready && x.ip) ? p : undefined;
      },
      90_000,
    );
  const refreshPods = async (): Promise<void> => {
    const sim = JSON.parse(
      (await get('http://kubelet/status', { socketPath: join(lab.stateDir, 'kubelet.sock') })).body,
    ) as SimulatorStatus;
    for (const p of sim.pods) netns.set(p.name, p.netns);
    for (const ns of [NS, BLUE_NS]) for (const [n, p] of await lab.pods('lab=networks', ns)) ips.set(n, p.ip);
  };

  beforeAll(async () => {
    const up = await lab.up();
    expect(up.code, up.stderr).toBe(0);
    [node1, node2] = lab.layout.nodes.map((n) => n.name) as [string, string];
    await lab.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
          {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: BLUE_NS, annotations: { 'opencontrail.org/network': `${NS}/blue` } },
          },
          nad('blue', { cniVersion: '1.0.0', type: 'netloom', subnet: '10.20.0.0/16' }),
          // Contrail's form: the annotation makes it a netloom network.
          nad(
            'red',
            { cniVersion: '1.0.0', type: 'contrail-k8s-cni' },
            { 'opencontrail.org/cidr': '10.30.0.0/16' },
          ),
          nad('mv', {
            cniVersion: '1.0.0',
            type: 'macvlan',
            master: 'eth0',
            mode: 'bridge',
            capabilities: { ips: true, mac: true },
            ipam: { type: 'static', routes: [{ dst: '198.51.100.0/24' }] },
          }),
        ],
      }),
    );
    await waitFor(
      'networks nets/blue and nets/red registered',
      async () => {
        const keys = await lab.etcdctl([
          'get',
          '--prefix',
          '--keys-only',
          `/netloom/v1/${lab.state().cluster}/networks/`,
        ]);
        return keys.includes('networks/nets/blue') && keys.includes('networks/nets/red') ? true : undefined;
      },
      30_000,
    );
    const blue = { 'opencontrail.org/network': 'blue' };
    await lab.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          pod('a1', node1, blue, NS, { app: 'blue-web' }),
          pod('a2', node2, blue, NS, { app: 'blue-web' }),
          pod('b1', node1, { 'opencontrail.org/network': 'red' }),
          pod('d1', node2, {}),
          pod('n1', node2, {}, BLUE_NS),
        ],
      }),
    );
    await podsReady(NS, 4);
    await podsReady(BLUE_NS, 1);
    await refreshPods();
    // The address multi asks for in blue: one of node 1's block (a1 is on node 1).
    multiBlueIp = ips.get('a1')!.replace(/\.\d+$/, '.200');
    await lab.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify(
        pod('multi', node1, {
          'k8s.v1.cni.cncf.io/networks': JSON.stringify([
            { name: 'blue', ips: [`${multiBlueIp}/24`], mac: MULTI_MAC_BLUE },
            { name: 'mv', interface: 'data0', ips: [`${MULTI_MV_IP}/24`], mac: MULTI_MAC_MV },
          ]),
        }),
      ),
    );
    await podsReady(NS, 5);
    await refreshPods();
  }, 300_000);

  afterAll(async () => {
    const left = await lab.destroy();
    expect(left).toEqual([]);
  }, 120_000);

  it("gives each pod an address of its network: the pod's annotation, its namespace's, or the default", () => {
    expect(ips.get('a1')).toMatch(/^10\.20\./);
    expect(ips.get('a2')).toMatch(/^10\.20\./);
    expect(ips.get('b1')).toMatch(/^10\.30\./);
    expect(ips.get('d1')).toMatch(/^10\.1\./);
    expect(ips.get('n1')).toMatch(/^10\.20\./); // the namespace's annotation
    expect(ips.get('multi')).toMatch(/^10\.1\./); // extras do not change the primary
  });

  it('A reaches A on the other node; A, B and the default network do not reach each other', async () => {
    const [a1, a2, b1, d1, n1] = ['a1', 'a2', 'b1', 'd1', 'n1'].map((n) => ips.get(n)!) as [
      string,
      string,
      string,
      string,
      string,
    ];
    expect(await reach('a1', [a2, n1, b1, d1])).toEqual({ [a2]: true, [n1]: true, [b1]: false, [d1]: false });
    expect(await reach('n1', [a1, a2, b1, d1])).toEqual({ [a1]: true, [a2]: true, [b1]: false, [d1]: false });
    expect(await reach('b1', [a1, a2, d1])).toEqual({ [a1]: false, [a2]: false, [d1]: false });
    expect(await reach('d1', [a1, a2, b1])).toEqual({ [a1]: false, [a2]: false, [b1]: false });
  });

  it("a Service whose endpoints are in A answers A's pods, on both endpoints, and not the default network's", async () => {
    await lab.kubectl([
      'expose',
      'pod',
      'a1',
      '-n',
      NS,
      '--name',
      'blue-web',
      '--port=80',
      '--target-port=8080',
      '--selector=app=blue-web',
    ]);
    const vip = (
      await lab.kubectl(['get', 'service', 'blue-web', '-n', NS, '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    const answered = await waitFor(
      'the blue Service answering n1 from both endpoints',
      async () => {
        const [c, argv] = inNetns(netns.get('n1'), process.execPath, [PROBE, 'http', vip, '80', '20']);
        const res = await runProcess(c, argv, { timeoutMs: 60_000 });
        if (res.code !== 0) return undefined;
        const bodies = JSON.parse(res.stdout) as string[];
        const from = new Set(bodies.map((b) => /^hello from \S+\/(\S+) on/.exec(b)?.[1]));
        return from.has('a1') && from.has('a2') ? from : undefined;
      },
      30_000,
    );
    expect([...answered].sort()).toEqual(['a1', 'a2']);
    expect(
      await reach(
        'd1',
        [vip].map((v) => v),
      ),
    ).toEqual({ [vip]: false });
  });

  it('NetworkPolicy applies inside a network as on the default one', async () => {
    const a2 = ips.get('a2')!;
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'a2-from-n1-only', namespace: NS },
      spec: {
        podSelector: { matchLabels: { name: 'a2' } },
        policyTypes: ['Ingress'],
        ingress: [
          { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': BLUE_NS } } }] },
        ],
      },
    };
    await lab.kubectl(['apply', '-f', '-'], JSON.stringify(policy));
    try {
      await waitFor(
        'a1 refused by the policy, n1 let through',
        async () => {
          const [fromA1, fromN1] = [await reach('a1', [a2]), await reach('n1', [a2])];
          return fromA1[a2] === false && fromN1[a2] === true ? true : undefined;
        },
        20_000,
      );
    } finally {
      await lab.kubectl(['delete', 'networkpolicy', 'a2-from-n1-only', '-n', NS]);
    }
    await waitFor(
      'a1 reaches a2 again',
      async () => ((await reach('a1', [a2]))[a2] ? true : undefined),
      20_000,
    );
  });

  it('attaches the extra interfaces as requested, reaches A through net1, and publishes network-status exactly', async () => {
    const links = JSON.parse(await inPod('multi', 'ip', ['-j', 'addr', 'show'])) as {
      ifname: string;
      address: string;
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[];
    const byName = new Map(links.map((l) => [l.ifname, l]));
    const v4 = (n: string): string[] =>
      (byName.get(n)?.addr_info ?? [])
        .filter((a) => a.family === 'inet')
        .map((a) => `${a.local}/${a.prefixlen}`);
    expect(v4('eth0')).toEqual([`${ips.get('multi')}/32`]);
    const net1 = v4('net1')[0]?.split('/')[0] ?? '';
    expect(net1).toBe(multiBlueIp);
    expect(byName.get('net1')?.address).toBe(MULTI_MAC_BLUE);
    expect(v4('data0')).toEqual([`${MULTI_MV_IP}/24`]);
    expect(byName.get('data0')?.address).toBe(MULTI_MAC_MV);
    const routes = await inPod('multi', 'ip', ['route', 'show']);
    expect(routes).toMatch(/^default via 169\.254\.1\.1 dev eth0/m);
    expect(routes).toMatch(/^10\.20\.0\.0\/16 via 169\.254\.1\.1 dev net1/m);
    expect(routes).toMatch(/^198\.51\.100\.0\/24 dev data0/m);
    expect(await reach('multi', [ips.get('a2')!])).toEqual({ [ips.get('a2')!]: true });

    const status = await waitFor(
      'network-status on multi',
      async () => {
        const raw = await lab.kubectl([
          'get',
          'pod',
          'multi',
          '-n',
          NS,
          '-o',
          'jsonpath={.metadata.annotations.k8s\\.v1\\.cni\\.cncf\\.io/network-status}',
        ]);
        const list = raw.trim() === '' ? [] : (JSON.parse(raw) as unknown[]);
        return list.length === 3 ? list : undefined;
      },
      30_000,
    );
    const eth0Mac = byName.get('eth0')?.address;
    expect(status).toEqual([
      { name: 'netloom', interface: 'eth0', ips: [ips.get('multi')], mac: eth0Mac, default: true },
      { name: `${NS}/blue`, interface: 'net1', ips: [net1], mac: MULTI_MAC_BLUE, default: false },
      { name: `${NS}/mv`, interface: 'data0', ips: [MULTI_MV_IP], mac: MULTI_MAC_MV, default: false },
    ]);
  });

  it("default-route moves the pod's default route to a delegated interface; eth0 keeps the cluster", async () => {
    await lab.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify(
        pod('dr', node2, {
          'k8s.v1.cni.cncf.io/networks': JSON.stringify([
            { name: 'mv', interface: 'data0', ips: ['192.168.77.11/24'], 'default-route': ['192.168.77.1'] },
          ]),
        }),
      ),
    );
    await podsReady(NS, 6);
    await refreshPods();
    try {
      const routes = await inPod('dr', 'ip', ['route', 'show']);
      expect(routes).toMatch(/^default via 192\.168\.77\.1 dev data0/m);
      expect(routes).not.toMatch(/^default .* dev eth0/m);
      expect(routes).toMatch(/^10\.1\.0\.0\/16 via 169\.254\.1\.1 dev eth0/m);
      expect(routes).toMatch(/^10\.96\.0\.0\/12 via 169\.254\.1\.1 dev eth0/m);
      // Still in the cluster through eth0 (d1 is a default-network pod), and the macvlan peer on data0.
      expect(await reach('dr', [ips.get('d1')!, MULTI_MV_IP])).toEqual({
        [ips.get('d1')!]: true,
        [MULTI_MV_IP]: true,
      });
      const status = await waitFor(
        'network-status on dr',
        async () => {
          const raw = await lab.kubectl([
            'get',
            'pod',
            'dr',
            '-n',
            NS,
            '-o',
            'jsonpath={.metadata.annotations.k8s\\.v1\\.cni\\.cncf\\.io/network-status}',
          ]);
          const list = raw.trim() === '' ? [] : (JSON.parse(raw) as { interface: string }[]);
          return list.length === 2 ? list : undefined;
        },
        30_000,
      );
      expect(status[1]).toMatchObject({
        interface: 'data0',
        ips: ['192.168.77.11'],
        'default-route': ['192.168.77.1'],
      });
    } finally {
      await lab.kubectl(['delete', 'pod', 'dr', '-n', NS, '--wait=true', '--timeout=60s']);
    }
  });

  it('deleting the multi-net pod leaves nothing behind in IPAM, the attachments or the node', async () => {
    const cluster = lab.state().cluster;
    const node1Ns = lab.layout.nodes[0]!.netns;
    const before = await runProcess('ip', ['-n', node1Ns, '-o', 'link', 'show']);
    const hostLinks = before.stdout.split('\n').filter((l) => l.includes('nl')).length;
    await lab.kubectl(['delete', 'pod', 'multi', '-n', NS, '--wait=true', '--timeout=60s']);
    await waitFor(
      'multi gone from IPAM and attachments',
      async () => {
        const keys = await lab.etcdctl(['get', '--prefix', '--keys-only', `/netloom/v1/${cluster}/`]);
        const held = keys.split('\n').filter((k) => k.includes('/attachments/') && k.includes('/multi/'));
        const ipam = await lab.etcdctl(['get', '--prefix', `/netloom/v1/${cluster}/ipam/`]);
        return held.length === 0 && !ipam.includes('"pod":"multi"') ? true : undefined;
      },
      30_000,
    );
    const after = await runProcess('ip', ['-n', node1Ns, '-o', 'link', 'show']);
    // eth0's and net1's host veths went with the pod.
    expect(after.stdout.split('\n').filter((l) => l.includes('nl')).length).toBe(hostLinks - 2);
  });
});
