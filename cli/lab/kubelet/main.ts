// `netloom lab kubelet`: the node simulator daemon the lab starts (and restarts). It builds the
// CNI shim if the lab has none yet, writes each node's conflist, and serves /readyz and /status
// with /metrics on --metrics-addr (unix:<state>/kubelet.sock by default) for `lab up` and
// `lab status`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { startHealthServer } from '../../../lib/health-server.ts';
import { createRegistry } from '../../../lib/metrics.ts';
import type { Logger } from '../../../lib/logging.ts';
import { buildCni } from '../../../scripts/build-cni.ts';
import { kubeFiles } from '../kube-files.ts';
import { apiserverUrl, layoutOf, type LabState } from '../state.ts';
import { CniRunner, netnsExec, type NodeCni } from './cni-runner.ts';
import { loadTemplate, nodeConflist } from './conflist.ts';
import { KubeApi } from './kube-api.ts';
import { RecordStore } from './records.ts';
import { Runtime } from './runtime.ts';
import { NodeSimulator } from './simulator.ts';

export const CNI_PATH_EXTRA = ['/usr/lib/cni', '/opt/cni/bin'];

export async function runKubelet(state: LabState, addr: string, logger: Logger): Promise<number> {
  const layout = layoutOf(state);
  if (!existsSync(layout.files.cniBin)) {
    await buildCni(layout.files.cniBin);
    logger.info({ path: layout.files.cniBin }, 'CNI shim built');
  }
  const template = loadTemplate(state.conflist);
  logger.info({ source: template.source }, 'CNI configuration template');
  const cniPath = [layout.files.bin, ...CNI_PATH_EXTRA];
  const cni = new Map<string, NodeCni>();
  for (const n of layout.nodes) {
    const list = nodeConflist(template.list, n);
    writeFileSync(n.conflist, JSON.stringify(list, null, 2) + '\n');
    // The plugins run in the node's namespace, as the node's container runtime would run them.
    cni.set(n.name, { list, runner: new CniRunner({ cniPath, exec: netnsExec(n.netns, 90_000) }) });
  }
  const files = kubeFiles(layout.files.kubeDir);
  const api = new KubeApi({
    server: apiserverUrl(state),
    token: state.token,
    ...(existsSync(files.servingCert) ? { ca: readFileSync(files.servingCert) } : {}),
  });
  const records = new RecordStore(layout.files.pods);
  const registry = createRegistry('lab-kubelet');
  const runtime = new Runtime({ layout, records, cni, podProcess: state.podProcess, logger });
  const sim = new NodeSimulator({ api, layout, runtime, records, cni, logger, registry });

  const health = await startHealthServer({
    address: addr,
    registry,
    logger,
    readiness: { simulator: () => sim.ready() },
    routes: { '/status': () => sim.status() },
  });

  const stop = new AbortController();
  const onSignal = (sig: string): void => {
    logger.info({ signal: sig }, 'shutting down (pods keep running)');
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  logger.info({ nodes: layout.nodes.map((n) => n.name), url: health.url }, 'node simulator started');
  try {
    await sim.run(stop.signal);
  } finally {
    await health.close();
    api.close();
  }
  return 0;
}
