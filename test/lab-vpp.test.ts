// `netloom lab up --dataplane vpp` (issue 18): a real VPP per node namespace, its uplink the
// node's second underlay port by af_packet, the agents on `--dataplane vpp` with veth pod
// interfaces. Real packets: `lab check` has every pod reach every other, across the nodes through
// the VPPs' VXLAN; an agent restart makes zero VPP changes (its start resync, as it logs it);
// VPP killed with -9 is started again by the lab's supervisor, the agent reconnects and resyncs,
// and every pair reaches again; a NetworkPolicy (VPP ACLs) isolates pods and admits what it
// allows, and its removal opens them again; a ClusterIP from pods on both nodes reaches every
// endpoint through cnat (the pod's address kept, hairpin masqueraded), and a pod's egress policy
// judges the backend, not the VIP; a node port answers the underlay (the outside world) on every
// node through every endpoint, local and remote (NAT44-ED), fresh and after scaling; the Local
// policy keeps the client's address; ClientIP affinity sticks from outside and from pods; UDP
// through a ClusterIP from pods on both nodes; a scale and a delete are followed within a
// second, no new connection reaches a removed endpoint, a deleted Service stops answering;
// `lab down` leaves nothing, VPP's shared memory included.
// Skipped loudly where there is no VPP (CI keeps the fake).
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOf, skipUnless, vppAvailable } from './harness/availability.ts';
import { echoAnswers, labAvailable, serviceProbe, TestLab, waitFor } from './lab-support.ts';

const skip = skipUnless(
  'lab on the vpp data plane (test/lab-vpp.test.ts)',
  allOf(labAvailable(), vppAvailable()),
);
const PODS = 6;

describe.skipIf(skip)('netloom lab --dataplane vpp: pods through a VPP per node', () => {
  const lab = new TestLab({ nodes: 2, args: ['--dataplane', 'vpp'] });
  const nodes = lab.layout.nodes.map((n) => n.name);

  /** Every pair of pods reached, polled (VPP may still be coming back). */
  async function allPairs(what: string): Promise<void> {
    await waitFor(
      what,
      async () => {
        const c = await lab.check();
        return c.pods === PODS && c.ok === PODS * (PODS - 1) && c.failures.length === 0 ? c : undefined;
      },
      90_000,
      1_000,
    );
  }

  beforeAll(async () => {
    const up = await lab.up();
    expect(up.code, up.stderr).toBe(0);
    await lab.kubectl(['create', 'deployment', 'echo', '--image=echo', `--replicas=${PODS}`, '--port=8080']);
    await waitFor(
      'pods Running on both nodes',
      async () => {
        const p = [...(await lab.pods('app=echo')).values()];
        return p.length === PODS &&
          p.every((x) => x.phase === 'Running' && x.ip) &&
          nodes.every((n) => p.some((x) => x.node === n))
          ? p
          : undefined;
      },
      90_000,
      300,
    );
  }, 240_000);

  afterAll(async () => {
    expect(await lab.destroy()).toEqual([]);
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith(`netloom-${lab.name}-`))).toEqual([]);
  }, 120_000);

  it('every pod reaches every other, across nodes through the VPPs', async () => {
    const status = await lab.status();
    for (const n of nodes) expect(status.components.find((c) => c.name === `vpp-${n}`)?.ready).toBe(true);
    await allPairs('lab check: all pairs');
  }, 120_000);

  it('an agent restart makes zero VPP changes', async () => {
    for (const n of nodes) {
      const before = lab.pid(`agent-${n}`);
      const r = await lab.netloom(['restart', `agent-${n}`]);
      expect(r.code, r.stderr).toBe(0);
      const counts = await waitFor(
        `agent-${n}'s start resync`,
        () => {
          if (lab.pid(`agent-${n}`) === before) return Promise.resolve(undefined);
          const line = lab
            .log(`agent-${n}`, 200)
            .split('\n')
            .filter((l) => l.includes('"reason":"start"'))
            .at(-1);
          const m = line === undefined ? null : /"counts":(\{[^}]*\})/.exec(line);
          return Promise.resolve(m ? (JSON.parse(m[1]!) as Record<string, number>) : undefined);
        },
        30_000,
        200,
      );
      expect(counts).toEqual({ create: 0, update: 0, delete: 0 });
    }
    await allPairs('lab check after the agent restarts');
  }, 180_000);

  it('VPP killed: started again, the agent resyncs, every pair reaches again', async () => {
    const n = nodes[0]!;
    const pid = lab.pid(`vpp-${n}`);
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await waitFor(
      `vpp-${n} running again`,
      async () => {
        const again = lab.pid(`vpp-${n}`);
        if (again === undefined || again === pid) return undefined;
        const s = await lab.status();
        return s.components.find((c) => c.name === `vpp-${n}`)?.ready === true ? again : undefined;
      },
      60_000,
      500,
    );
    await allPairs('lab check after the VPP restart');
    expect(lab.log(`agent-${n}`, 400)).toContain('data plane reconnected: resyncing');
  }, 180_000);

  it('a NetworkPolicy becomes VPP ACLs: isolated, then admitting its peers on its port, then gone', async () => {
    await lab.kubectl(['create', 'deployment', 'db', '--image=echo', '--replicas=2', '--port=8080']);
    const db = await waitFor(
      'db pods Running',
      async () => {
        const p = [...(await lab.pods('app=db')).values()];
        return p.length === 2 && p.every((x) => x.phase === 'Running' && x.ip) ? p : undefined;
      },
      60_000,
      300,
    );
    const dbTargets = new Set(db.map((p) => `${p.ip}:8080`));
    const all = PODS + 2;
    /** The failed pairs once the data plane settled: [from app, to app] as names say. */
    const failures = async (want: number): Promise<{ from: string; to: string }[]> =>
      waitFor(
        `${want} failed pairs`,
        async () => {
          const c = await lab.check();
          return c.pods === all && c.failures.length === want ? c.failures : undefined;
        },
        60_000,
        1_000,
      );
    const policy = (ingress: string): string =>
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: default}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress: ${ingress}
`;
    await lab.kubectl(['apply', '-f', '-'], policy('[]'));
    // Every pair into a db pod fails (6 echo + 1 other db, for each of 2), nothing else.
    const isolated = await failures(PODS * 2 + 2);
    expect(isolated.every((f) => [...dbTargets].some((t) => f.to.includes(t)))).toBe(true);
    await lab.kubectl(
      ['apply', '-f', '-'],
      policy('[{from: [{podSelector: {matchLabels: {app: echo}}}], ports: [{port: 8080, protocol: TCP}]}]'),
    );
    // Only db → db is left refused.
    const admitted = await failures(2);
    expect(
      admitted.every((f) => f.from.startsWith('default/db-') && [...dbTargets].some((t) => f.to.includes(t))),
    ).toBe(true);
    await lab.kubectl(['delete', 'networkpolicy', 'db']);
    await failures(0);
  }, 240_000);

  it('Services from pods through cnat: every endpoint from both nodes, hairpin masqueraded, egress judged on the backend', async () => {
    await lab.kubectl(['expose', 'deployment', 'echo', '--port=80', '--target-port=8080']);
    const vip = (await lab.kubectl(['get', 'service', 'echo', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const echo = await lab.pods('app=echo');
    const netns = await lab.podNetns();
    const names = [...echo.keys()].sort();
    for (const n of nodes) {
      const [from, pod] = [...echo].find(([, p]) => p.node === n)!;
      const got = await waitFor(
        `${n}: ${vip}:80 answered by every endpoint`,
        async () => {
          const a = await echoAnswers(netns.get(from)!, vip, 80, 48).catch(() => []);
          return a.length === 48 && new Set(a.map((x) => x.pod)).size === PODS ? a : undefined;
        },
        60_000,
        1_000,
      );
      const spread = new Map<string, number>();
      for (const a of got) spread.set(a.pod, (spread.get(a.pod) ?? 0) + 1);
      process.stdout.write(`[lab-vpp] ${n} → ${vip}:80, 48 connections: ${[...spread.values()].join('/')}\n`);
      expect([...spread.keys()].sort()).toEqual(names);
      // The pod's own address to every other backend; its own connections masqueraded (cnat's
      // hairpin address), so that the reply comes back through VPP.
      expect(new Set(got.filter((a) => a.pod !== from).map((a) => a.client))).toEqual(new Set([pod.ip]));
      expect(new Set(got.filter((a) => a.pod === from).map((a) => a.client))).toEqual(
        new Set(['169.254.1.2']),
      );
    }

    // Egress only to the echo pods on 8080: the ClusterIP's port 80 is let through because the
    // ACL sees the backend (cnat translates before it), and a port the policy names not is refused.
    await lab.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-echo, namespace: default}
spec:
  podSelector: {matchLabels: {app: echo}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: echo}}}], ports: [{port: 8080, protocol: TCP}]}]
`,
    );
    const [from] = [...echo].find(([, p]) => p.node === nodes[0])!;
    const [, other] = [...echo].find(([name]) => name !== from)!;
    await waitFor(
      'the egress policy in force (a port it does not name refused)',
      async () =>
        ((await serviceProbe(netns.get(from)!, ['connect', other.ip, '8081'])) as { result: string })
          .result === 'timeout' || undefined,
      30_000,
      500,
    );
    const through = await echoAnswers(netns.get(from)!, vip, 80, 12);
    expect(through.filter((a) => names.includes(a.pod))).toHaveLength(12);
    await lab.kubectl(['delete', 'networkpolicy', 'egress-echo']);
  }, 240_000);

  it('a node port answers the outside world on every node, through every endpoint, and after a scale', async () => {
    await lab.kubectl([
      'expose',
      'deployment',
      'echo',
      '--name=echo-np',
      '--port=80',
      '--target-port=8080',
      '--type=NodePort',
    ]);
    const port = Number(
      (await lab.kubectl(['get', 'service', 'echo-np', '-o', 'jsonpath={.spec.ports[0].nodePort}'])).trim(),
    );
    // Once every endpoint has answered (the mapping is programmed), a second round of 48 must
    // all be answered, by endpoints only: a retry would hide a connection lost now and then.
    const everyEndpoint = async (replicas: number, when: string): Promise<void> => {
      const names = await waitFor(
        `${replicas} echo pods running`,
        async () => {
          const all = [...(await lab.pods('app=echo')).entries()];
          const p = all.filter(([, x]) => x.phase === 'Running' && x.ready).map(([name]) => name);
          return p.length === replicas && all.length === replicas ? p : undefined;
        },
        60_000,
        500,
      );
      for (const n of lab.layout.nodes) {
        const ask = (): Promise<{ pod: string; client: string }[]> =>
          echoAnswers(lab.layout.underlayNetns, n.vppIp, port, 48).catch(() => []);
        await waitFor(
          `${n.name}: node port ${port} answered by every endpoint (${when})`,
          async () => {
            const a = await ask();
            return new Set(a.filter((x) => names.includes(x.pod)).map((x) => x.pod)).size === replicas
              ? a
              : undefined;
          },
          60_000,
          1_000,
        );
        const got = await ask();
        expect(got.filter((x) => names.includes(x.pod))).toHaveLength(48);
        const spread = new Map<string, number>();
        for (const a of got) spread.set(a.pod, (spread.get(a.pod) ?? 0) + 1);
        process.stdout.write(
          `[lab-vpp] underlay → ${n.vppIp}:${port} (${when}), 48 connections: ${[...spread.values()].join('/')}\n`,
        );
      }
    };
    await everyEndpoint(PODS, 'fresh');
    // A scale replaces the NAT44-ED mapping; packets through recycled buffers once carried a
    // stale cnat session there (CnatCalls.enableLookup).
    await lab.kubectl(['scale', 'deployment', 'echo', `--replicas=${PODS - 2}`]);
    await everyEndpoint(PODS - 2, 'scaled down');
    await lab.kubectl(['scale', 'deployment', 'echo', `--replicas=${PODS}`]);
    await everyEndpoint(PODS, 'scaled up');
  }, 420_000);

  it('Local policy keeps the client address; ClientIP affinity sticks (outside and from pods); UDP from pods', async () => {
    const port = Number(
      (await lab.kubectl(['get', 'service', 'echo-np', '-o', 'jsonpath={.spec.ports[0].nodePort}'])).trim(),
    );
    const vip = (await lab.kubectl(['get', 'service', 'echo', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const echo = await lab.pods('app=echo');
    const netns = await lab.podNetns();
    const outside = lab.layout.underlayNetns;
    const node = lab.layout.nodes[0]!;
    const local = [...echo].filter(([, p]) => p.node === node.name).map(([name]) => name);

    await lab.kubectl(['patch', 'service', 'echo-np', '-p', '{"spec":{"externalTrafficPolicy":"Local"}}']);
    const kept = await waitFor(
      'Local policy in place',
      async () => {
        const got = await echoAnswers(outside, node.vppIp, port, 12).catch(() => []);
        return got.length === 12 && got.every((a) => local.includes(a.pod)) ? got : undefined;
      },
      30_000,
      500,
    );
    // The underlay's own address, not a node's nor a twice-NAT one: nothing masqueraded it.
    const clients = new Set(kept.map((a) => a.client));
    expect(clients.size).toBe(1);
    const [client] = [...clients];
    expect(lab.layout.nodes.flatMap((n) => [n.ip, n.vppIp])).not.toContain(client);
    expect(client).toMatch(/^192\.168\./);
    process.stdout.write(
      `[lab-vpp] Local policy: 12 of 12 from ${node.name}'s ${local.length} endpoints, client ${client}\n`,
    );
    await lab.kubectl(['patch', 'service', 'echo-np', '-p', '{"spec":{"externalTrafficPolicy":"Cluster"}}']);

    // Affinity: the node port (NAT44-ED's affinity) and the ClusterIP from a pod (cnat's flow hash
    // on the source address).
    for (const svc of ['echo-np', 'echo'])
      await lab.kubectl(['patch', 'service', svc, '-p', '{"spec":{"sessionAffinity":"ClientIP"}}']);
    const [from] = [...echo].find(([, p]) => p.node === lab.layout.nodes[1]!.name)!;
    for (const [what, ask] of [
      ['outside → node port', () => echoAnswers(outside, node.vppIp, port, 20)],
      ['pod → ClusterIP', () => echoAnswers(netns.get(from)!, vip, 80, 20)],
    ] as const) {
      const sticky = await waitFor(
        `affinity in place (${what})`,
        async () => {
          const got = await ask().catch(() => []);
          return got.length === 20 && new Set(got.map((a) => a.pod)).size === 1 ? got : undefined;
        },
        30_000,
        500,
      );
      process.stdout.write(`[lab-vpp] affinity ${what}: 20 of 20 to ${sticky[0]!.pod}\n`);
    }
    for (const svc of ['echo-np', 'echo'])
      await lab.kubectl(['patch', 'service', svc, '-p', '{"spec":{"sessionAffinity":"None"}}']);

    await lab.kubectl([
      'expose',
      'deployment',
      'echo',
      '--name=echo-udp',
      '--protocol=UDP',
      '--port=53',
      '--target-port=8080',
    ]);
    const udpVip = (
      await lab.kubectl(['get', 'service', 'echo-udp', '-o', 'jsonpath={.spec.clusterIP}'])
    ).trim();
    await waitFor(
      'echo-udp programmed',
      async () =>
        (await lab.appliedBackends(`service/0/udp/${udpVip}/53`)).every((n) => n === PODS) || undefined,
      30_000,
    );
    for (const n of lab.layout.nodes) {
      const [p] = [...echo].find(([, x]) => x.node === n.name)!;
      const got = await serviceProbe(netns.get(p)!, ['udp', udpVip, '53', '20']);
      expect(got, n.name).toEqual({ sent: 20, echoed: 20 });
    }
  }, 240_000);

  it('scale and delete: VPP follows within a second (measured); no new connection to a removed endpoint; a deleted Service stops answering', async () => {
    const vip = (await lab.kubectl(['get', 'service', 'echo', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const port = Number(
      (await lab.kubectl(['get', 'service', 'echo-np', '-o', 'jsonpath={.spec.ports[0].nodePort}'])).trim(),
    );
    const key = `service/0/tcp/${vip}/80`;
    const timeUntil = async (what: string, cond: () => Promise<boolean>): Promise<number> => {
      const t0 = performance.now();
      await waitFor(what, async () => (await cond()) || undefined, 20_000, 20);
      return Math.round(performance.now() - t0);
    };
    await lab.kubectl(['scale', 'deployment', 'echo', '--replicas=2']);
    const scaled = await timeUntil('scaled to 2 on every agent', async () =>
      (await lab.appliedBackends(key)).every((n) => n === 2),
    );
    const left = [...(await lab.pods('app=echo')).entries()]
      .filter(([, p]) => p.phase !== 'Terminating')
      .map(([n]) => n);
    const netns = await lab.podNetns();
    const from = netns.get(left[0]!)!;
    const fromPod = await echoAnswers(from, vip, 80, 30);
    const fromOutside = await echoAnswers(lab.layout.underlayNetns, lab.layout.nodes[1]!.vppIp, port, 30);
    for (const got of [fromPod, fromOutside])
      expect(
        got.map((a) => a.pod).filter((p) => !left.includes(p)),
        'answered by a removed endpoint, or not at all',
      ).toEqual([]);
    await lab.kubectl(['delete', 'service', 'echo', 'echo-np']);
    const deleted = await timeUntil('echo gone on every agent', async () =>
      (await lab.appliedBackends(key)).every((n) => n === undefined),
    );
    process.stdout.write(
      `[lab-vpp] scale 6 → 2: every agent's frontend updated ${scaled} ms after kubectl returned; delete: removed after ${deleted} ms\n`,
    );
    expect(scaled).toBeLessThan(5_000);
    expect(deleted).toBeLessThan(5_000);
    expect(((await serviceProbe(from, ['connect', vip, '80'])) as { result: string }).result).not.toBe('ok');
    const np = (await serviceProbe(lab.layout.underlayNetns, [
      'connect',
      lab.layout.nodes[1]!.vppIp,
      String(port),
    ])) as {
      result: string;
    };
    expect(np.result).not.toBe('ok');
  }, 240_000);
});
