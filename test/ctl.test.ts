// netloomctl against a lab, every command as a new user runs it (`netloom ctl …` and `kubectl
// netloom …`, over the lab's TLS etcd with the admin's client certificate): the -o json records of each command are checked against etcd read on its own
// (etcd3's raw get, values parsed as plain JSON here), the table's header and a row, a leaked
// IPAM record (written by the real allocator for a pod that does not exist), the agent's dump
// against its other API routes, an unreachable store (refused, and a black hole) and bad input.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { get } from '../cli/lab/http.ts';
import { etcdClientOf } from '../lib/etcd/client.ts';
import { Store } from '../lib/etcd/store.ts';
import { freePort } from '../lib/free-ports.ts';
import { Keyspace } from '../lib/keyspace.ts';
import { silentLogger } from '../lib/logging.ts';
import { PodIpam } from '../agent/ipam/allocator.ts';
import { AddressPlan } from '../agent/ipam/plan.ts';
import type { Network } from '../proto/gen/netloom/model/v1/Network.ts';
import { skipUnless } from './harness/availability.ts';
import { etcdFlags } from './harness/etcd.ts';
import { labAvailable, TestLab, waitFor } from './lab-support.ts';

const skip = skipUnless('netloom ctl (test/ctl.test.ts)', labAvailable());
const ROOT_DIR = join(import.meta.dirname, '..');
const NETLOOM = join(ROOT_DIR, 'cli', 'netloom.ts');
const PLUGIN = join(ROOT_DIR, 'cli', 'kubectl-netloom.ts');
const ROOT = '/netloom/v1/default/';

interface Ran {
  code: number;
  out: string;
  err: string;
  ms: number;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000, env, maxBuffer: 32 << 20 }, (err, out, stderr) =>
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
        out,
        err: stderr,
        ms: performance.now() - t0,
      }),
    );
  });
}

const ctl = (args: string[]): Promise<Ran> => run(process.execPath, [NETLOOM, 'ctl', ...args]);

/** The first line of a table and the line that contains `text`. */
function tableLine(out: string, text: string): { header: string; row: string | undefined } {
  const lines = out.split('\n');
  return { header: lines[0] ?? '', row: lines.find((l) => l.includes(text)) };
}

const OBJECTS = [
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'iso', annotations: { 'opencontrail.org/isolation': 'true' } },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'web-in', namespace: 'default' },
    spec: {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080 }] }],
    },
  },
  {
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name: 'blue', namespace: 'default' },
    spec: { config: '{"cniVersion":"1.0.0","name":"blue","type":"netloom","subnet":"10.200.0.0/24"}' },
  },
];

interface NodeJson {
  name: string;
  id: number | null;
  claimedIds: number[];
  podSubnet: string;
  managementIp: string;
  health: string;
  pods: number;
  ipamRecords: number;
  readiness?: string;
}

describe.skipIf(skip)('netloom ctl against a lab', () => {
  const lab = new TestLab({ nodes: 2 });
  let raw: Etcd3;
  let store: Store;
  let leakIp = '';
  let etcd: string[] = [];
  let common: string[] = [];
  const etcdPrefix = async (p: string): Promise<Map<string, unknown>> => {
    const all = await raw
      .getAll()
      .prefix(ROOT + p)
      .strings();
    // Every value is JSON but nodes/id/<id>, which holds the bare node name.
    return new Map(
      Object.entries(all).map(([k, v]) => [
        k,
        k.startsWith(`${ROOT}nodes/id/`) ? v : (JSON.parse(v) as unknown),
      ]),
    );
  };
  const json = async <T>(args: string[]): Promise<T> => {
    const r = await ctl([...args, ...common, '-o', 'json']);
    if (r.code !== 0) throw new Error(`ctl ${args.join(' ')} exited ${r.code}: ${r.err}`);
    expect(r.err).toBe('');
    return JSON.parse(r.out) as T;
  };

  beforeAll(async () => {
    await lab.up();
    // The lab's etcd speaks TLS and wants a client certificate: the admin's, as an operator's.
    etcd = etcdFlags(lab.etcdConfig);
    common = [...etcd, '--agent-addr', `unix:${join(lab.stateDir, 'nodes')}/{node}/agent-api.sock`];
    const c = lab.etcdConfig;
    raw = new Etcd3({
      hosts: c.etcdEndpoints,
      credentials: {
        rootCertificate: readFileSync(c.etcdCa!),
        certChain: readFileSync(c.etcdCert!),
        privateKey: readFileSync(c.etcdKey!),
      },
    });
    store = new Store(etcdClientOf(c));
    // `lab up` installs the NetworkAttachmentDefinition CRD (deploy's own file, cli/lab/crds.ts).
    await lab.kubectl(['create', 'deployment', 'web', '--image=echo', '--replicas=3', '--port=8080']);
    await lab.kubectl(['expose', 'deployment', 'web', '--port=80', '--target-port=8080']);
    await waitFor(
      'NAD kind served',
      async () =>
        (await lab.kubectl(
          ['apply', '-f', '-'],
          JSON.stringify({ apiVersion: 'v1', kind: 'List', items: OBJECTS }),
        )) !== '',
      30_000,
      500,
    );
    await waitFor(
      'web pods ready',
      async () => {
        const p = await lab.pods('app=web');
        return p.size === 3 && [...p.values()].every((x) => x.ready);
      },
      90_000,
    );

    // A leak: the real allocator records an address on node 2 for a pod Kubernetes never had.
    const info = (await etcdPrefix(`nodes/info/${lab.layout.nodes[1]!.name}`)).values().next().value as {
      id: number;
    };
    const ipam = new PodIpam({
      store,
      keyspace: new Keyspace('default'),
      node: lab.layout.nodes[1]!.name,
      subnet: new AddressPlan({ podCidr: '10.1.0.0/16', nodePrefixLength: 24, gatewayOffset: 1 }).forNode(
        info.id,
      ),
      logger: silentLogger(),
    });
    await ipam.load();
    leakIp = (
      await ipam.allocate({
        namespace: 'default',
        pod: 'gone',
        containerId: 'ctl-test-leak',
        ifname: 'eth0',
        netns: '/run/netns/gone',
      })
    ).ip;

    await waitFor(
      "KSR's mirror of the policy, the NAD, the namespace and 3 ready endpoints",
      async () => {
        const eps = (await etcdPrefix('k8s/endpoints/default/web')).get(
          `${ROOT}k8s/endpoints/default/web`,
        ) as { subsets?: { endpoints?: { ready?: boolean }[] }[] } | undefined;
        const ready = (eps?.subsets ?? []).flatMap((s) => s.endpoints ?? []).filter((e) => e.ready).length;
        const have = async (p: string): Promise<boolean> => (await etcdPrefix(p)).size > 0;
        return (
          ready === 3 &&
          (await have('k8s/policy/default/web-in')) &&
          (await have('k8s/netattach/default/blue')) &&
          // KSR's network registry turns the NAD into networks/default/blue (the first ID: 1).
          (await have('networks/default/blue')) &&
          (await have('k8s/namespace/iso'))
        );
      },
      60_000,
    );
  });

  afterAll(async () => {
    store?.close();
    raw?.close();
    expect(await lab.destroy()).toEqual([]);
  });

  it('nodes: ID, subnet, address and health are what nodes/info and nodes/id hold', async () => {
    const nodes = await json<NodeJson[]>(['nodes']);
    const infos = await etcdPrefix('nodes/info/');
    const ids = await etcdPrefix('nodes/id/');
    expect(nodes.map((n) => n.name)).toEqual(lab.layout.nodes.map((n) => n.name));
    for (const n of nodes) {
      const info = infos.get(`${ROOT}nodes/info/${n.name}`) as Record<string, unknown>;
      expect(n).toMatchObject({
        id: info['id'],
        podSubnet: info['podSubnet'],
        managementIp: info['managementIp'],
        health: 'ok',
      });
      const claimed = [...ids].filter(([, v]) => v === n.name).map(([k]) => Number(k.split('/').pop()));
      expect(n.claimedIds).toEqual(claimed);
    }
    const table = await ctl(['nodes', ...common]);
    const { header, row } = tableLine(table.out, lab.layout.nodes[0]!.name);
    expect(header).toMatch(/^NAME\s+ID\s+SUBNET\s+NODE-IP\s+PODS\s+ALLOCATED\s+HEALTH$/);
    const n1 = nodes[0]!;
    expect(row?.split(/\s+/)).toEqual([
      n1.name,
      String(n1.id),
      n1.podSubnet,
      n1.managementIp,
      String(n1.pods),
      String(n1.ipamRecords),
      'ok',
    ]);
    // --probe asks every agent's /readyz, which the lab's agents answer as ready.
    const probed = await json<NodeJson[]>(['nodes', '--probe']);
    expect(probed.map((n) => n.readiness)).toEqual(['ready', 'ready']);
  });

  it('pods [node]: each pod with the address and interface of its IPAM record, on its node', async () => {
    const pods = await json<
      {
        namespace: string;
        name: string;
        node: string;
        interfaces: { ip: string; ifname: string; node: string; containerId: string }[];
      }[]
    >(['pods']);
    const mirrored = await etcdPrefix('k8s/pod/');
    expect(pods.map((p) => `${ROOT}k8s/pod/${p.namespace}/${p.name}`).sort()).toEqual(
      [...mirrored.keys()].sort(),
    );
    const ipam = await etcdPrefix('ipam/');
    for (const [key, value] of ipam) {
      const v = value as { namespace: string; pod: string; ifname: string; containerId: string };
      const [node, ip] = key.slice(`${ROOT}ipam/`.length).split('/');
      const pod = pods.find((p) => p.namespace === v.namespace && p.name === v.pod);
      if (v.pod === 'gone') {
        expect(pod).toBeUndefined(); // the leak belongs to no pod
        continue;
      }
      expect(pod?.node).toBe(node);
      expect(pod?.interfaces).toContainEqual(
        expect.objectContaining({ ip, ifname: v.ifname, node, containerId: v.containerId }),
      );
    }
    const node1 = lab.layout.nodes[0]!.name;
    const onNode1 = await json<{ node: string }[]>(['pods', node1]);
    expect(onNode1.length).toBeGreaterThan(0);
    expect(onNode1.every((p) => p.node === node1)).toBe(true);
    const web = pods.find((p) => p.name.startsWith('web-'))!;
    const table = await ctl(['pods', ...common]);
    const { header, row } = tableLine(table.out, web.name);
    expect(header).toMatch(/^NAMESPACE\s+NAME\s+NODE\s+IP\s+INTERFACE\s+HOST-IF\s+PHASE$/);
    expect(row?.split(/\s+/).slice(0, 5)).toEqual([
      'default',
      web.name,
      web.node,
      web.interfaces[0]!.ip,
      'eth0',
    ]);
  });

  it('ipam [node]: every allocation in etcd, and the record without a pod as leaked', async () => {
    const report = await json<{
      mirrorComplete: boolean;
      nodes: {
        node: string;
        leaked: number;
        records: { ip: string; key: string; pod: string; state: string; containerId: string }[];
      }[];
    }>(['ipam']);
    expect(report.mirrorComplete).toBe(true);
    const ipam = await etcdPrefix('ipam/');
    const listed = report.nodes.flatMap((n) => n.records);
    expect(listed.map((r) => r.key).sort()).toEqual([...ipam.keys()].sort());
    for (const r of listed) {
      expect((ipam.get(r.key) as { containerId: string }).containerId).toBe(r.containerId);
      expect(r.state).toBe(r.ip === leakIp && r.pod === 'gone' ? 'leaked' : 'in use');
    }
    const node2 = lab.layout.nodes[1]!.name;
    expect(report.nodes.find((n) => n.node === node2)?.leaked).toBe(1);
    const only = await json<{ nodes: { node: string }[] }>(['ipam', node2]);
    expect(only.nodes.map((n) => n.node)).toEqual([node2]);
    const table = await ctl(['ipam', ...common]);
    const { header, row } = tableLine(table.out, 'default/gone');
    expect(header).toMatch(/^NODE\s+IP\s+POD\s+INTERFACE\s+CONTAINER\s+STATE$/);
    expect(row?.split(/\s+/)).toEqual([node2, leakIp, 'default/gone', 'eth0', 'ctl-test-lea', 'leaked']);
    expect(table.out).toContain(`${node2}: `);
    expect(table.out).toMatch(new RegExp(`${node2}: \\S+, \\d+ allocated, 1 leaked`));
  });

  it('services: the frontend at the ClusterIP balances to the ready endpoints KSR mirrored', async () => {
    const svc = (await etcdPrefix('k8s/service/default/web')).get(`${ROOT}k8s/service/default/web`) as {
      clusterIps: string[];
    };
    const eps = (await etcdPrefix('k8s/endpoints/default/web')).get(`${ROOT}k8s/endpoints/default/web`) as {
      subsets: { ports: { port: number }[]; endpoints: { addresses: string[]; ready?: boolean }[] }[];
    };
    const expected = eps.subsets
      .flatMap((s) =>
        s.endpoints
          .filter((e) => e.ready)
          .flatMap((e) => e.addresses.map((ip) => `${ip}:${s.ports[0]!.port}`)),
      )
      .sort();
    const report = await json<{
      node: string | null;
      services: {
        namespace: string;
        name: string;
        frontends: {
          key: string;
          vip: string;
          port: number;
          protocol: string;
          backends: { ip: string; port: number }[];
        }[];
      }[];
    }>(['services']);
    expect(report.node).toBeNull();
    const mirrored = await etcdPrefix('k8s/service/');
    expect(report.services.map((s) => `${ROOT}k8s/service/${s.namespace}/${s.name}`).sort()).toEqual(
      [...mirrored.keys()].sort(),
    );
    const web = report.services.find((s) => s.name === 'web')!;
    expect(web.frontends).toHaveLength(1);
    const f = web.frontends[0]!;
    expect([f.vip, f.port, f.protocol]).toEqual([svc.clusterIps[0], 80, 'TCP']);
    expect(f.backends.map((b) => `${b.ip}:${b.port}`).sort()).toEqual(expected);
    // The same frontend as the node's agent applied it.
    const node1 = lab.layout.nodes[0]!;
    const applied = JSON.parse(
      (
        await get(`http://agent/api/v1/items/applied?prefix=${encodeURIComponent(f.key)}`, {
          socketPath: node1.apiSocket,
        })
      ).body,
    ) as { key: string; value: { backends: { ip: string; port: number }[] } }[];
    const forNode = await json<typeof report>(['services', node1.name]);
    const mine = forNode.services.find((s) => s.name === 'web')!.frontends[0]!;
    expect(applied.find((i) => i.key === f.key)?.value).toEqual(
      Object.fromEntries(Object.entries(mine).filter(([k]) => k !== 'key')),
    );
    const table = await ctl(['services', ...common]);
    const { header, row } = tableLine(table.out, `${svc.clusterIps[0]}:80/TCP`);
    expect(header).toMatch(/^NAMESPACE\s+NAME\s+KIND\s+FRONTEND\s+BACKENDS\s+AFFINITY$/);
    expect(row?.split(/\s+/).slice(0, 4)).toEqual([
      'default',
      'web',
      'cluster-ip',
      `${svc.clusterIps[0]}:80/TCP`,
    ]);
  });

  it('policies [node]: the policy and the isolation isolate the pods etcd says they select', async () => {
    const pods = await etcdPrefix('k8s/pod/default/');
    const webPods = [...pods.values()]
      .map((p) => p as { namespace: string; name: string; labels?: Record<string, string>; nodeName: string })
      .filter((p) => p.labels?.['app'] === 'web');
    const report = await json<{
      policies: {
        key: string;
        kind: string;
        ingress: { isolates: boolean; pods: string[]; rules: unknown[] };
        egress: { isolates: boolean };
      }[];
    }>(['policies']);
    const policies = await etcdPrefix('k8s/policy/');
    const np = report.policies.filter((p) => p.kind === 'NetworkPolicy');
    expect(np.map((p) => `${ROOT}k8s/policy/${p.key}`)).toEqual([...policies.keys()].sort());
    const webIn = report.policies.find((p) => p.key === 'default/web-in')!;
    expect(webIn.ingress.pods.sort()).toEqual(webPods.map((p) => `default/${p.name}`).sort());
    expect(webIn.ingress.rules).toHaveLength(
      (policies.get(`${ROOT}k8s/policy/default/web-in`) as { ingress: unknown[] }).ingress.length,
    );
    expect(webIn.egress.isolates).toBe(false);
    expect(report.policies.find((p) => p.key === 'isolation:iso')).toMatchObject({ kind: 'isolation' });

    // On node 1: one PodPolicy per web pod interface there (the IPAM records say which).
    const node1 = lab.layout.nodes[0]!.name;
    const ipam = await etcdPrefix(`ipam/${node1}/`);
    const local = [...ipam.values()]
      .map((v) => v as { namespace: string; pod: string; ifname: string })
      .filter((v) => webPods.some((p) => p.name === v.pod))
      .map((v) => `policy/${v.namespace}/${v.pod}/${v.ifname}`);
    const items = await json<{ node: string; items: { key: string }[] }>(['policies', node1]);
    expect(
      items.items
        .map((i) => i.key)
        .filter((k) => k.startsWith('policy/'))
        .sort(),
    ).toEqual(local.sort());
    const table = await ctl(['policies', ...common]);
    const { header, row } = tableLine(table.out, 'web-in');
    expect(header).toMatch(/^NAMESPACE\s+NAME\s+SELECTOR\s+INGRESS\s+EGRESS\s+ISOLATES\s+NOTES$/);
    expect(row).toMatch(
      new RegExp(`^default\\s+web-in\\s+\\{app=web\\}\\s+1 rule\\s+-\\s+${webPods.length} pods$`),
    );
  });

  it('networks: the custom network and the NetworkAttachmentDefinition as etcd holds them', async () => {
    const report = await json<{ networks: unknown[]; attachmentDefinitions: unknown[] }>(['networks']);
    const records = [...(await etcdPrefix('networks/')).values()];
    // KSR's network registry wrote it from the NAD (proto3 JSON: `snat: false` is left out).
    expect(records).toEqual([
      {
        name: 'default/blue',
        id: 1,
        subnets: ['10.200.0.0/24'],
        vni: 4097,
        nodePrefixLength: 28,
        gatewayOffset: 1,
      } satisfies Network,
    ]);
    // netloom ctl shows it as the agents decode it: defaults filled in.
    expect(report.networks).toEqual(records.map((r) => ({ snat: false, ...(r as object) })));
    const nads = await etcdPrefix('k8s/netattach/');
    expect(report.attachmentDefinitions).toEqual(
      [...nads.values()].map((v): unknown => expect.objectContaining(v as object) as unknown),
    );
    const table = await ctl(['networks', ...common]);
    const { header, row } = tableLine(table.out, 'blue');
    expect(header).toMatch(/^KIND\s+NAME\s+ID\s+DETAIL$/);
    expect(row?.split(/\s+/)).toEqual(['network', 'default/blue', '1', '10.200.0.0/24']);
  });

  it("dump <node>: the agent's applied items and its last transactions", async () => {
    const node1 = lab.layout.nodes[0]!;
    const dump = await json<{
      agent: string;
      node: { name: string };
      applied: { key: string }[];
      transactions: { seq: number }[];
    }>(['dump', node1.name, '--limit', '3']);
    expect(dump.node.name).toBe(node1.name);
    expect(dump.agent).toBe(`unix:${node1.apiSocket}`);
    const applied = JSON.parse(
      (await get('http://agent/api/v1/items/applied', { socketPath: node1.apiSocket })).body,
    ) as { key: string }[];
    expect(dump.applied.map((i) => i.key)).toEqual(applied.map((i) => i.key));
    const txns = JSON.parse(
      (await get('http://agent/api/v1/transactions?limit=3', { socketPath: node1.apiSocket })).body,
    ) as { seq: number }[];
    expect(dump.transactions.map((t) => t.seq)).toEqual(txns.map((t) => t.seq));
    expect(dump.transactions.length).toBeLessThanOrEqual(3);
    // Every pod interface of the node's IPAM records is applied.
    for (const v of (await etcdPrefix(`ipam/${node1.name}/`)).values()) {
      const r = v as { namespace: string; pod: string; ifname: string };
      expect(dump.applied.map((i) => i.key)).toContain(`pod-interface/${r.namespace}/${r.pod}/${r.ifname}`);
    }
    const table = await ctl(['dump', node1.name, ...common]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(new RegExp(`^node ${node1.name} \\(ID \\d+, [\\d./]+\\): ready`));
    expect(table.out).toMatch(/\nKEY\s+ORIGIN\s+VALUE\n/);
    expect(table.out).toMatch(/\naddress\/0\/\S+\s+netloom\s+\{/);
    expect(table.out).toMatch(/\nSEQ\s+KIND\s+STARTED\s+MS\s+CHANGES\s+OPS\s+ERRORS\s+DESCRIPTION\n/);
  });

  it('raw [prefix]: the keys and values of etcd, and -o yaml is the same data as -o json', async () => {
    const records = await json<{ key: string; value: unknown; modRevision: number }[]>(['raw', 'ipam/']);
    const ipam = await etcdPrefix('ipam/');
    expect(records.map((r) => [r.key, r.value])).toEqual([...ipam]);
    const table = await ctl(['raw', 'ipam/', ...common]);
    const { header, row } = tableLine(table.out, leakIp);
    expect(header).toMatch(/^KEY\s+REVISION\s+VALUE$/);
    expect(row).toMatch(
      new RegExp(
        `^${ROOT}ipam/\\S+/${leakIp.replace(/\./g, '\\.')}\\s+\\d+\\s+\\{"namespace":"default","pod":"gone"`,
      ),
    );
    const asJson = await json<unknown>(['nodes']);
    const yaml = await ctl(['nodes', ...common, '-o', 'yaml']);
    expect(parseYaml(yaml.out)).toEqual(asJson);
  });

  it('kubectl netloom: the plugin on PATH prints what netloom ctl prints', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'netloom-plugin-'));
    try {
      symlinkSync(PLUGIN, join(bin, 'kubectl-netloom'));
      // kubectl runs the plugin with PATH's node, which must be the project's Node 24.
      const path = [bin, join(process.execPath, '..'), process.env['PATH'] ?? ''].join(':');
      const viaKubectl = await run('/usr/bin/kubectl', ['netloom', 'nodes', ...common], {
        ...process.env,
        PATH: path,
      });
      const direct = await ctl(['nodes', ...common]);
      expect(viaKubectl.err).toBe('');
      expect(viaKubectl.code).toBe(0);
      expect(viaKubectl.out).toBe(direct.out);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('an unreachable store is one line and exit 1 within seconds: refused, and a black hole', async () => {
    const refused = await ctl(['nodes', '--etcd-endpoints', `http://127.0.0.1:${await freePort()}`]);
    expect(refused.code).toBe(1);
    expect(refused.err.trimEnd().split('\n')).toHaveLength(1);
    expect(refused.err).toMatch(
      /^netloom ctl: cannot read etcd at http:\/\/127\.0\.0\.1:\d+: connection refused/,
    );
    // Bounds that tell "gave up" from "hung" on a busy machine (start-up alone can take seconds).
    expect(refused.ms).toBeLessThan(15_000);
    // A listener that accepts and never answers: the --timeout-ms wait, then the same one line.
    const sockets: Socket[] = [];
    const hole: Server = createServer((s) => void sockets.push(s));
    const port = await freePort();
    await new Promise<void>((resolve) => hole.listen(port, '127.0.0.1', resolve));
    try {
      const silent = await ctl([
        'pods',
        '--etcd-endpoints',
        `http://127.0.0.1:${port}`,
        '--timeout-ms',
        '1500',
      ]);
      expect(silent.code).toBe(1);
      expect(silent.err.trimEnd().split('\n')).toHaveLength(1);
      expect(silent.err).toMatch(/cannot read etcd at .*: no answer within 1500 ms/);
      expect(silent.ms).toBeGreaterThanOrEqual(1_500);
      expect(silent.ms).toBeLessThan(15_000);
      console.log(
        `unreachable etcd: refused ${refused.ms.toFixed(0)} ms, black hole ${silent.ms.toFixed(0)} ms`,
      );
    } finally {
      sockets.forEach((s) => s.destroy());
      hole.close();
    }
    // An agent that is not there: one line, exit 1.
    const node1 = lab.layout.nodes[0]!.name;
    const noAgent = await ctl(['dump', node1, ...etcd, '--agent-addr', 'unix:/nonexistent/{node}.sock']);
    expect(noAgent.code).toBe(1);
    expect(noAgent.err.trimEnd().split('\n')).toHaveLength(1);
    expect(noAgent.err).toContain(`cannot reach the agent at unix:/nonexistent/${node1}.sock`);
  });

  it('a value the agents cannot read is named on stderr, and the rest is printed', async () => {
    // networks/: read by the agents' view only, which skips what it cannot decode.
    const key = new Keyspace('default').key({ kind: 'network', namespace: 'default', name: 'broken' });
    await store.put(key, 'not json');
    try {
      const r = await ctl(['networks', ...common, '-o', 'json']);
      expect(r.code).toBe(0);
      expect(r.err).toMatch(
        new RegExp(`^netloom ctl: warning: ${key} is unreadable, the agents skip it too: `),
      );
      expect((JSON.parse(r.out) as { networks: { name: string }[] }).networks.map((n) => n.name)).toEqual([
        'default/blue',
      ]);
    } finally {
      await store.delete(key);
    }
  });

  it('bad input exits 2 with one line naming what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['pods', 'no-such-node'], /no node "no-such-node" in cluster default \(known: /],
      [['nodes', '-o', 'xml'], /output: /],
      [['ipam', 'a', 'b'], /unexpected argument "b"/],
      [['dump'], /node: missing: netloom ctl dump <node>/],
      [['raw', '/netloom/v1/other/'], /outside this cluster's keys/],
      [['nodes', '--cluster', 'Bad_Name'], /cluster: invalid cluster name/],
      [['nodes', '--no-such-flag', '1'], /--no-such-flag: unknown flag/],
    ];
    for (const [args, message] of cases) {
      const r = await ctl([...args, ...etcd]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(message);
    }
    const unknown = await ctl(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.err.split('\n')[0]).toBe('netloom ctl: unknown command frobnicate');
  });
});
