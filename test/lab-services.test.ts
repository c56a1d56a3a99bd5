// Services in the lab as a user tries them, with real packets and no kube-proxy: a Deployment
// exposed through kubectl; its ClusterIP from pods on every node spreads over every endpoint; its
// NodePort answers from the underlay (the outside world) on every node; Local external policy
// keeps the client's address; ClientIP affinity sticks; a Service without endpoints refuses at
// once; UDP works; scaling and deleting are followed by every agent within a second (measured);
// a LoadBalancer Service with the Local policy answers its health-check node port on every node
// (200 where its endpoint is, 503 elsewhere), serves pods on every node, and honours
// loadBalancerSourceRanges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../lib/timing.ts';
import { skipUnless } from './harness/availability.ts';
import { echoAnswers, labAvailable, serviceProbe, TestLab, waitFor } from './lab-support.ts';

const skip = skipUnless('lab Services (test/lab-services.test.ts)', labAvailable());
const REPLICAS = 6;

interface Svc {
  spec: { clusterIP: string; ports: { port: number; nodePort?: number; protocol: string }[] };
}

describe.skipIf(skip)('netloom lab: Services without kube-proxy', () => {
  const lab = new TestLab({ nodes: 3 });
  let pods: { name: string; node: string; netns: string; ip: string }[] = [];
  let vip = '';
  let nodePort = 0;

  const probe = serviceProbe;
  const answers = echoAnswers;
  const svc = async (name: string): Promise<Svc> =>
    JSON.parse(await lab.kubectl(['get', 'service', name, '-o', 'json'])) as Svc;
  const appliedBackends = (key: string): Promise<(number | undefined)[]> => lab.appliedBackends(key);
  const timeUntil = async (what: string, cond: () => Promise<boolean>): Promise<number> => {
    const t0 = performance.now();
    await waitFor(what, async () => (await cond()) || undefined, 20_000);
    return Math.round(performance.now() - t0);
  };

  beforeAll(async () => {
    await lab.up();
    await lab.kubectl([
      'create',
      'deployment',
      'web',
      '--image=registry.example/echo:1',
      `--replicas=${REPLICAS}`,
      '--port=8080',
    ]);
    await waitFor(
      'web pods ready',
      async () => {
        const p = await lab.pods('app=web');
        return p.size === REPLICAS && [...p.values()].every((x) => x.ready) ? p : undefined;
      },
      60_000,
    );
    await lab.kubectl(['expose', 'deployment', 'web', '--port=80', '--target-port=8080', '--type=NodePort']);
    const s = await svc('web');
    vip = s.spec.clusterIP;
    nodePort = s.spec.ports[0]!.nodePort!;
    const netns = await lab.podNetns();
    const ips = await lab.pods('app=web');
    pods = [...ips].map(([name, p]) => ({ name, node: p.node, netns: netns.get(name)!, ip: p.ip }));
    await waitFor(
      'every agent programmed web',
      async () =>
        (await appliedBackends(`service/0/tcp/${vip}/80`)).every((n) => n === REPLICAS) || undefined,
      30_000,
    );
  }, 240_000);

  afterAll(async () => {
    expect(await lab.destroy()).toEqual([]);
  });

  it('the ClusterIP, from a pod on every node, reaches every endpoint (spread measured)', async () => {
    for (const node of lab.layout.nodes) {
      const from = pods.find((p) => p.node === node.name)!;
      const got = await answers(from.netns, vip, 80, 60);
      const spread = new Map<string, number>();
      for (const a of got) spread.set(a.pod, (spread.get(a.pod) ?? 0) + 1);
      process.stdout.write(
        `[lab-services] ${node.name} → ${vip}:80, 60 connections: ${[...spread.values()].join('/')}\n`,
      );
      expect([...spread.keys()].sort()).toEqual(pods.map((p) => p.name).sort());
      // Pod to ClusterIP keeps the pod's address (no masquerade inside the cluster), except when
      // the pod reached itself: that hairpin connection is masqueraded to the node.
      const others = got.filter((a) => a.pod !== from.name);
      expect(new Set(others.map((a) => a.client))).toEqual(new Set([from.ip]));
      for (const a of got.filter((x) => x.pod === from.name)) expect(a.client).toBe(node.ip);
    }
  });

  it('a pod reaches its own Service even when it is its own backend (hairpin)', async () => {
    const self = pods[0]!;
    const got = await answers(self.netns, vip, 80, 40);
    expect(got.every((a) => pods.some((p) => p.name === a.pod))).toBe(true);
    expect(got.some((a) => a.pod === self.name)).toBe(true);
  });

  it('the NodePort answers from the outside world on every node; Local policy keeps the client address', async () => {
    const outside = lab.layout.underlayNetns;
    for (const node of lab.layout.nodes) {
      const got = await answers(outside, node.ip, nodePort, 12);
      expect(
        got.every((a) => pods.some((p) => p.name === a.pod)),
        JSON.stringify(got),
      ).toBe(true);
    }
    await lab.kubectl(['patch', 'service', 'web', '-p', '{"spec":{"externalTrafficPolicy":"Local"}}']);
    const node = lab.layout.nodes[0]!;
    const local = pods.filter((p) => p.node === node.name).map((p) => p.name);
    const clientIp = await waitFor(
      'Local policy in place',
      async () => {
        const got = await answers(outside, node.ip, nodePort, 12);
        return got.every((a) => local.includes(a.pod)) ? got : undefined;
      },
      20_000,
    );
    // The client's own underlay address, not a node's: nothing masqueraded it.
    expect(new Set(clientIp.map((a) => a.client)).size).toBe(1);
    expect(lab.layout.nodes.map((n) => n.ip)).not.toContain(clientIp[0]!.client);
    await lab.kubectl(['patch', 'service', 'web', '-p', '{"spec":{"externalTrafficPolicy":"Cluster"}}']);
  });

  it('a LoadBalancer Service gets an address from the pool (KSR) and answers from the outside world', async () => {
    await lab.kubectl([
      'expose',
      'deployment',
      'web',
      '--name=web-lb',
      '--type=LoadBalancer',
      '--port=80',
      '--target-port=8080',
    ]);
    const ingress = await waitFor(
      'an ingress address',
      async () => {
        const s = JSON.parse(await lab.kubectl(['get', 'service', 'web-lb', '-o', 'json'])) as {
          status?: { loadBalancer?: { ingress?: { ip: string }[] } };
        };
        return s.status?.loadBalancer?.ingress?.[0]?.ip;
      },
      20_000,
    );
    expect(ingress).toMatch(/^198\.51\.100\./); // the lab's default pool
    await waitFor(
      'web-lb programmed',
      async () =>
        (await appliedBackends(`service/0/tcp/${ingress}/80`)).every((n) => n === REPLICAS) || undefined,
      20_000,
    );
    const got = await answers(lab.layout.underlayNetns, ingress, 80, 12);
    expect(
      got.every((a) => pods.some((p) => p.name === a.pod)),
      JSON.stringify(got),
    ).toBe(true);
    await lab.kubectl(['delete', 'service', 'web-lb']);
  });

  it('LoadBalancer with the Local policy: health-check node port per node, pods everywhere served, source ranges enforced', async () => {
    // One endpoint, on node 1 (where the lab routes the load-balancer pool from the outside world).
    const home = lab.layout.nodes[0]!;
    await lab.kubectl([
      'run',
      'solo',
      '--image=registry.example/echo:1',
      '--port=8080',
      '--labels=app=solo',
      `--overrides={"apiVersion":"v1","spec":{"nodeName":"${home.name}"}}`,
    ]);
    await waitFor(
      'solo ready',
      async () => (await lab.pods('app=solo')).get('solo')?.ready || undefined,
      60_000,
    );
    await lab.kubectl([
      'expose',
      'pod',
      'solo',
      '--name=solo-lb',
      '--type=LoadBalancer',
      '--port=80',
      '--target-port=8080',
    ]);
    await lab.kubectl(['patch', 'service', 'solo-lb', '-p', '{"spec":{"externalTrafficPolicy":"Local"}}']);
    const lb = await waitFor(
      'ingress address and health-check node port',
      async () => {
        const s = JSON.parse(await lab.kubectl(['get', 'service', 'solo-lb', '-o', 'json'])) as {
          spec: { healthCheckNodePort?: number };
          status?: { loadBalancer?: { ingress?: { ip: string }[] } };
        };
        const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
        return ip && s.spec.healthCheckNodePort ? { ip, hc: s.spec.healthCheckNodePort } : undefined;
      },
      20_000,
    );
    const outside = lab.layout.underlayNetns;
    const health = async (): Promise<{ node: string; status: number; local: number }[]> =>
      Promise.all(
        lab.layout.nodes.map(async (n) => {
          const r = (await probe(outside, ['get', n.ip, String(lb.hc)])) as { status: number; body: string };
          const body = (r.status > 0 ? JSON.parse(r.body) : {}) as { localEndpoints?: number };
          return { node: n.name, status: r.status, local: body.localEndpoints ?? -1 };
        }),
      );
    const checks = await waitFor(
      'health checks answered on every node',
      async () => {
        const h = await health();
        return h.every((x) => x.status === (x.node === home.name ? 200 : 503)) ? h : undefined;
      },
      20_000,
    );
    process.stdout.write(`[lab-services] health-check node port ${lb.hc}: ${JSON.stringify(checks)}\n`);
    expect(checks.map((c) => c.local)).toEqual(lab.layout.nodes.map((n) => (n.name === home.name ? 1 : 0)));

    // Pods on every node reach the load-balancer IP (kube-proxy serves the cluster from every
    // endpoint under Local), keeping their address; the outside world keeps its own.
    for (const node of lab.layout.nodes) {
      const from = pods.find((p) => p.node === node.name)!;
      const got = await waitFor(
        `solo-lb from ${node.name}`,
        async () => {
          const a = await answers(from.netns, lb.ip, 80, 3);
          return a.every((x) => x.pod === 'solo') ? a : undefined;
        },
        20_000,
      );
      expect(new Set(got.map((a) => a.client))).toEqual(new Set([from.ip]));
    }
    const fromOutside = await answers(outside, lb.ip, 80, 3);
    expect(fromOutside.map((a) => a.pod)).toEqual(['solo', 'solo', 'solo']);
    expect(lab.layout.nodes.map((n) => n.ip)).not.toContain(fromOutside[0]!.client);

    // Source ranges: a range the client is not in shuts it out; one it is in lets it back.
    await lab.kubectl([
      'patch',
      'service',
      'solo-lb',
      '-p',
      '{"spec":{"loadBalancerSourceRanges":["192.0.2.0/24"]}}',
    ]);
    await waitFor(
      'outside shut out',
      async () =>
        ((await probe(outside, ['connect', lb.ip, '80'])) as { result: string }).result === 'timeout' ||
        undefined,
      20_000,
    );
    const client = fromOutside[0]!.client;
    await lab.kubectl([
      'patch',
      'service',
      'solo-lb',
      '-p',
      `{"spec":{"loadBalancerSourceRanges":["${client}/32"]}}`,
    ]);
    const back = await waitFor(
      'outside let back in',
      async () => {
        const a = await answers(outside, lb.ip, 80, 2);
        return a.every((x) => x.pod === 'solo') ? a : undefined;
      },
      20_000,
    );
    expect(back).toHaveLength(2);
    await lab.kubectl(['delete', 'service', 'solo-lb']);
    await lab.kubectl(['delete', 'pod', 'solo', '--wait=false']);
    // The health-check port closes with its Service.
    await waitFor(
      'health-check port closed',
      async () => (await health()).every((x) => x.status === 0) || undefined,
      20_000,
    );
  });

  it('ClientIP affinity sticks to one backend', async () => {
    await lab.kubectl(['patch', 'service', 'web', '-p', '{"spec":{"sessionAffinity":"ClientIP"}}']);
    const from = pods.find((p) => p.node === lab.layout.nodes[1]!.name)!;
    const sticky = await waitFor(
      'affinity in place',
      async () => {
        const got = await answers(from.netns, vip, 80, 20);
        return new Set(got.map((a) => a.pod)).size === 1 ? got : undefined;
      },
      20_000,
    );
    expect(sticky).toHaveLength(20);
    await lab.kubectl(['patch', 'service', 'web', '-p', '{"spec":{"sessionAffinity":"None"}}']);
  });

  it('UDP through a ClusterIP', async () => {
    await lab.kubectl([
      'expose',
      'deployment',
      'web',
      '--name=web-udp',
      '--protocol=UDP',
      '--port=53',
      '--target-port=8080',
    ]);
    const udpVip = (await svc('web-udp')).spec.clusterIP;
    await waitFor(
      'web-udp programmed',
      async () =>
        (await appliedBackends(`service/0/udp/${udpVip}/53`)).every((n) => n === REPLICAS) || undefined,
      20_000,
    );
    const got = (await probe(pods[1]!.netns, ['udp', udpVip, '53', '20'])) as {
      sent: number;
      echoed: number;
    };
    expect(got).toEqual({ sent: 20, echoed: 20 });
  });

  it('a Service without endpoints refuses at once instead of black-holing', async () => {
    await lab.kubectl(['create', 'service', 'clusterip', 'nobody', '--tcp=80:8080']);
    const ip = (await svc('nobody')).spec.clusterIP;
    await waitFor(
      'nobody programmed',
      async () => (await appliedBackends(`service/0/tcp/${ip}/80`)).every((n) => n === 0) || undefined,
      20_000,
    );
    const r = (await probe(pods[0]!.netns, ['connect', ip, '80'])) as { result: string; ms: number };
    expect(r.result).toBe('refused');
    expect(r.ms).toBeLessThan(1_000);
  });

  it('scale and delete: every agent follows within a second (measured), and a deleted Service stops answering', async () => {
    const key = `service/0/tcp/${vip}/80`;
    await lab.kubectl(['scale', 'deployment', 'web', '--replicas=2']);
    const scaled = await timeUntil('scaled to 2 on every agent', async () =>
      (await appliedBackends(key)).every((n) => n === 2),
    );
    process.stdout.write(
      `[lab-services] scale 6 → 2: every agent's frontend updated ${scaled} ms after kubectl returned\n`,
    );
    // No new connection goes to a removed endpoint.
    await sleep(200);
    const left = [...(await lab.pods('app=web')).entries()]
      .filter(([, p]) => p.phase !== 'Terminating')
      .map(([n]) => n);
    const from = pods.find((p) => left.includes(p.name)) ?? pods[0]!;
    const got = await answers(from.netns, vip, 80, 30);
    expect(
      got.every((a) => left.includes(a.pod)),
      JSON.stringify(got.map((a) => a.pod)),
    ).toBe(true);
    await lab.kubectl(['delete', 'service', 'web']);
    const deleted = await timeUntil('web gone on every agent', async () =>
      (await appliedBackends(key)).every((n) => n === undefined),
    );
    process.stdout.write(
      `[lab-services] delete: every agent removed the frontend ${deleted} ms after kubectl returned\n`,
    );
    expect(scaled).toBeLessThan(5_000);
    expect(deleted).toBeLessThan(5_000);
    const after = (await probe(from.netns, ['connect', vip, '80'])) as { result: string };
    expect(after.result).not.toBe('ok');
  });
});
