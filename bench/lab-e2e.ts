// End to end in the lab: a Kubernetes change → applied on every agent. A 5-node lab (pods run
// no process, so only the network path is measured), pods created and deleted in waves through
// the API server, and label changes on running pods. For each change: API write → the KSR's
// write seen in etcd (by this process's own watch: the peer, a bare watcher) → every agent's
// view at or past that etcd revision (polled through each agent's HTTP API, /api/v1/view).
// A pod creation counts once its mirrored value carries the pod's IP, i.e. after scheduling,
// CNI ADD (the hosting agent applied the pod's items) and the Running status.
// Usage: npm run bench:lab [-- --pods 200 --wave 20 --labels 200 --nodes 5 --poll-ms 5]
import { readFileSync } from 'node:fs';
import { etcdClientOf } from '../lib/etcd/client.ts';
import { Store } from '../lib/etcd/store.ts';
import { get } from '../cli/lab/http.ts';
import { KubeApi } from '../cli/lab/kubelet/kube-api.ts';
import { kubeFiles } from '../cli/lab/kube-files.ts';
import { labAvailable, TestLab } from '../test/lab-support.ts';
import { sleep } from '../lib/timing.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const PODS = arg('pods', 200);
const WAVE = arg('wave', 20);
const LABELS = arg('labels', 200);
const NODES = arg('nodes', 5);
const POLL_MS = arg('poll-ms', 5);
const WAVE_TIMEOUT_MS = 120_000;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** First-seen times of etcd events, by a name, from this process's own watch. */
class Seen {
  private readonly at = new Map<string, { rev: number; t: number }>();
  private readonly waiting = new Map<string, ((v: { rev: number; t: number }) => void)[]>();

  mark(name: string, rev: number, t: number): void {
    if (this.at.has(name)) return;
    this.at.set(name, { rev, t });
    for (const w of this.waiting.get(name) ?? []) w({ rev, t });
    this.waiting.delete(name);
  }

  wait(name: string): Promise<{ rev: number; t: number }> {
    const v = this.at.get(name);
    if (v) return Promise.resolve(v);
    return new Promise((resolve) => this.waiting.set(name, [...(this.waiting.get(name) ?? []), resolve]));
  }
}

/** Polls every agent's view revision; resolves when all have reached a revision. */
class AgentViews {
  private readonly sockets: string[];
  private readonly waiters: { rev: number; seen: (number | undefined)[]; resolve: (t: number) => void }[] =
    [];
  private wakers: (() => void)[] = [];
  requests = 0;

  constructor(sockets: string[]) {
    this.sockets = sockets;
  }

  reached(rev: number): Promise<number> {
    return new Promise((resolve) => {
      this.waiters.push({ rev, seen: this.sockets.map(() => undefined), resolve });
      for (const w of this.wakers.splice(0)) w();
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all(this.sockets.map((s, i) => this.poll(s, i, signal)));
  }

  private async poll(socket: string, i: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.waiters.length === 0) {
        await new Promise<void>((r) => {
          this.wakers.push(r);
          setTimeout(r, 200);
        });
        continue;
      }
      let rev = -1;
      try {
        rev = (
          JSON.parse((await get('http://agent/api/v1/view', { socketPath: socket })).body) as {
            revision: number;
          }
        ).revision;
        this.requests++;
      } catch {
        // agent busy or restarting; try again
      }
      const now = performance.now();
      for (const w of [...this.waiters]) {
        if (w.seen[i] === undefined && rev >= w.rev) w.seen[i] = now;
        if (w.seen.every((x) => x !== undefined)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(Math.max(...w.seen.map((x) => x ?? 0)));
        }
      }
      await sleep(POLL_MS);
    }
  }
}

interface Sample {
  etcd: number;
  agents: number;
}

function row(label: string, xs: number[]): string {
  if (xs.length === 0) return `  ${label.padEnd(44)} (no samples)`;
  const f = (v: number): string => `${v.toFixed(1)} ms`.padStart(10);
  return `  ${label.padEnd(44)}${f(pct(xs, 50))}${f(pct(xs, 99))}${f(Math.max(...xs))}   n=${xs.length}`;
}

async function main(): Promise<void> {
  const avail = labAvailable();
  if (!avail.ok) {
    console.log(`*** bench:lab skipped: ${avail.reason} ***`);
    return;
  }
  const lab = new TestLab({ nodes: NODES, args: ['--pod-process', 'none'] });
  const stop = new AbortController();
  let store: Store | undefined;
  let api: KubeApi | undefined;
  try {
    const up = await lab.up();
    console.error(`lab up (${NODES} nodes): ${(up.ms / 1000).toFixed(1)} s`);
    const state = lab.state();
    const files = kubeFiles(lab.layout.files.kubeDir);
    api = new KubeApi({
      server: `https://127.0.0.1:${state.ports.apiserver}`,
      token: state.token,
      ca: readFileSync(files.servingCert),
    });
    store = new Store(etcdClientOf(lab.etcdConfig));
    const root = `/netloom/v1/${state.cluster}/k8s/pod/default/`;

    const seen = new Seen();
    const startRevision = (await store.revision()) + 1;
    const watching = (async () => {
      for await (const ev of store.watch(root, { startRevision, signal: stop.signal })) {
        if (ev.type !== 'events') continue;
        const t = performance.now();
        for (const c of ev.changes) {
          const name = c.key.slice(root.length);
          if (c.type === 'delete') seen.mark(`del:${name}`, ev.revision, t);
          else {
            const v = JSON.parse(c.value) as {
              podIps?: string[];
              labels?: Record<string, string>;
              nodeName?: string;
            };
            if (v.nodeName) seen.mark(`node:${name}`, ev.revision, t);
            if ((v.podIps ?? []).length > 0) seen.mark(`ip:${name}`, ev.revision, t);
            const gen = v.labels?.['gen'];
            if (gen) seen.mark(`label:${name}:${gen}`, ev.revision, t);
          }
        }
      }
    })().catch(() => {});
    const views = new AgentViews(lab.layout.nodes.map((n) => n.apiSocket));
    const polling = views.run(stop.signal);

    const path = '/api/v1/namespaces/default/pods';
    const bound: number[] = [];
    const measure = async (write: () => Promise<unknown>, event: string): Promise<Sample> => {
      const t0 = performance.now();
      await write();
      if (event.startsWith('ip:b'))
        void seen.wait(`node:${event.slice(3)}`).then((b) => bound.push(b.t - t0));
      const e = await seen.wait(event);
      const all = await views.reached(e.rev);
      return { etcd: e.t - t0, agents: all - t0 };
    };
    const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> =>
      Promise.race([
        p,
        sleep(WAVE_TIMEOUT_MS).then(() =>
          Promise.reject(new Error(`${what}: no result in ${WAVE_TIMEOUT_MS} ms`)),
        ),
      ]);

    const creates: Sample[] = [];
    const deletes: Sample[] = [];
    const t0 = performance.now();
    for (let done = 0, wave = 0; done < PODS; wave++) {
      const names = Array.from({ length: Math.min(WAVE, PODS - done) }, (_, i) => `b${wave}-${i}`);
      creates.push(
        ...(await withTimeout(
          Promise.all(
            names.map((name) =>
              measure(
                () =>
                  api!.call('POST', path, {
                    apiVersion: 'v1',
                    kind: 'Pod',
                    metadata: { name, labels: { bench: '1' } },
                    spec: { containers: [{ name: 'c', image: 'bench' }] },
                  }),
                `ip:${name}`,
              ),
            ),
          ),
          `wave ${wave} creations`,
        )),
      );
      deletes.push(
        ...(await withTimeout(
          Promise.all(
            names.map((name) => measure(() => api!.call('DELETE', `${path}/${name}`), `del:${name}`)),
          ),
          `wave ${wave} deletions`,
        )),
      );
      done += names.length;
      console.error(
        `  wave ${wave}: ${done}/${PODS} pods created and deleted (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
    const churnSeconds = (performance.now() - t0) / 1000;

    // Label changes on running pods: the Kubernetes change with nothing but the mirror in between.
    const labels: Sample[] = [];
    const targets = Array.from({ length: Math.min(10, LABELS) }, (_, i) => `l-${i}`);
    await Promise.all(
      targets.map((name) =>
        measure(
          () =>
            api!.call('POST', path, {
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: { name, labels: { gen: '0' } },
              spec: { containers: [{ name: 'c', image: 'bench' }] },
            }),
          `ip:${name}`,
        ),
      ),
    );
    for (let i = 1; i <= LABELS; i++) {
      const name = targets[i % targets.length]!;
      labels.push(
        await withTimeout(
          measure(
            () =>
              api!.call(
                'PATCH',
                `${path}/${name}`,
                { metadata: { labels: { gen: String(i) } } },
                'application/merge-patch+json',
              ),
            `label:${name}:${i}`,
          ),
          'label change',
        ),
      );
    }

    const prop = (xs: Sample[]): number[] => xs.map((s) => s.agents - s.etcd);
    console.log(
      `\nlab end to end: Kubernetes change → applied on every agent (${NODES} nodes, agents polled every ${POLL_MS} ms, ${views.requests} polls)`,
    );
    console.log(
      `${PODS} pod creations + ${PODS} deletions in waves of ${WAVE} (pods run no process) in ${churnSeconds.toFixed(0)} s; ${LABELS} label changes one at a time`,
    );
    console.log(`  ${''.padEnd(44)}${'p50'.padStart(10)}${'p99'.padStart(10)}${'max'.padStart(10)}`);
    console.log(row('pod create → bound to a node, in etcd', bound));
    console.log(
      row(
        'pod create → mirrored with IP in etcd',
        creates.map((s) => s.etcd),
      ),
    );
    console.log(
      row(
        'pod create → every agent has it',
        creates.map((s) => s.agents),
      ),
    );
    console.log(
      row(
        'pod delete → key deleted in etcd',
        deletes.map((s) => s.etcd),
      ),
    );
    console.log(
      row(
        'pod delete → every agent has it',
        deletes.map((s) => s.agents),
      ),
    );
    console.log(
      row(
        'label change → mirrored in etcd',
        labels.map((s) => s.etcd),
      ),
    );
    console.log(
      row(
        'label change → every agent has it',
        labels.map((s) => s.agents),
      ),
    );
    console.log('  propagation alone: etcd write seen by a bare watcher (this process) → every agent');
    const all = [...prop(creates), ...prop(deletes), ...prop(labels)];
    console.log(row('  all changes', all));
    console.log(row('  label changes', prop(labels)));
    const line = (what: string, xs: Sample[]): string =>
      `${what} p50 ${pct(
        xs.map((x) => x.agents),
        50,
      ).toFixed(1)} ms / p99 ${pct(
        xs.map((x) => x.agents),
        99,
      ).toFixed(1)} ms`;
    console.log(
      `\nK8s change → applied on every agent: ${line('label change', labels)}; ${line('pod create', creates)} (scheduling, CNI ADD, status included); ${line('pod delete', deletes)} (CNI DEL included). DESIGN.md goal: p99 ≤ 100 ms at 10 nodes.`,
    );
    stop.abort();
    await Promise.race([Promise.all([watching, polling]), sleep(2_000)]);
  } finally {
    stop.abort();
    store?.close();
    api?.close();
    const left = await lab.destroy();
    if (left.length > 0) console.error(`lab down left: ${left.join(', ')}`);
  }
}

await main();
process.exit(0);
