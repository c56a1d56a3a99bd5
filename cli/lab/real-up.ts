// `lab up --kubelet real`, before the daemons start: the host's link into the underlay, each
// node's mount namespace, the CNI plugin installed on every node by `netloom install-cni` (as the
// agent DaemonSet's init container would; this slice still starts the agents as lab processes),
// the reference plugins containerd needs in its single bin_dir, and the image archives.
// Afterwards: waiting for the kubelets' Nodes to be Ready.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildCni } from '../../scripts/build-cni.ts';
import { buildImages, chainedPlugins } from '../../scripts/image.ts';
import { installCni, installCniSchema } from '../install-cni.ts';
import type { Binaries } from './components.ts';
import { DEBIAN_CNI_DIR, ROOT } from './components.ts';
import { LabError } from './exec.ts';
import { get } from './http.ts';
import type { LabLayout } from './layout.ts';
import { LAB_IMAGES } from './real-components.ts';
import { ensureHostLink, ensureMountNs, hostIp, realNodeFiles } from './real-node.ts';
import { apiserverUrl, type LabState } from './state.ts';
import { sleep } from '../../lib/timing.ts';

export async function prepareRealNodes(state: LabState, layout: LabLayout, bins: Binaries): Promise<string> {
  for (const [what, found] of [
    ['kubelet', bins.kubelet],
    ['kube-scheduler', bins.kubeScheduler],
    ['containerd', bins.containerd],
  ] as const) {
    if (!found?.ok) throw new LabError(`--kubelet real needs ${what}: ${found?.reason ?? 'not looked up'}`);
  }
  await ensureHostLink(layout);
  if (!existsSync(layout.files.cniBin)) {
    await buildCni(layout.files.cniBin);
  }
  const conflist = state.conflist ?? join(ROOT, 'deploy', 'netloom.conflist');
  // containerd 1.6 takes one plugin directory: the chained plugins and `loopback` (which
  // containerd runs for every pod's lo) go beside netloom's shim.
  const reference = ['loopback', ...chainedPlugins(conflist)];
  for (const node of layout.nodes) {
    await ensureMountNs(layout, node);
    const root = realNodeFiles(layout, node).root;
    installCni(
      installCniSchema.parse({
        shim: layout.files.cniBin,
        conflist,
        cniBinDir: join(root, 'opt/cni/bin'),
        cniConfDir: join(root, 'etc/cni/net.d'),
        nodeDir: join(node.dir, 'node-runtime'),
        agentSocket: node.cniSocket,
      }),
    );
    for (const p of reference) copyFileSync(join(DEBIAN_CNI_DIR, p), join(root, 'opt/cni/bin', p));
    mkdirSync(join(root, 'var/log/netloom'), { recursive: true });
  }
  const built = LAB_IMAGES.some((i) => !existsSync(i.archive)) ? await buildImages() : undefined;
  return `host ${hostIp(layout)} on the underlay, ${layout.nodes.length} mount namespaces, CNI installed${built ? ', images built' : ''}`;
}

interface NodeList {
  items: {
    metadata: { name: string };
    status?: { conditions?: { type: string; status: string; message?: string }[] };
  }[];
}

/** Waits until every lab node's Ready condition is True; returns the ones that are not. */
export async function waitNodesReady(
  state: LabState,
  layout: LabLayout,
  timeoutMs: number,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let notReady = layout.nodes.map((n) => `${n.name} (not registered)`);
    try {
      const res = await get(`${apiserverUrl(state)}/api/v1/nodes`, { token: state.token, timeoutMs: 5_000 });
      if (res.status === 200) {
        const items = (JSON.parse(res.body) as NodeList).items;
        notReady = layout.nodes.flatMap((n) => {
          const node = items.find((i) => i.metadata.name === n.name);
          const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
          if (ready?.status === 'True') return [];
          return [`${n.name} (${ready?.message ?? 'not registered'})`];
        });
      }
    } catch {
      // the API server is restarting: try again
    }
    if (notReady.length === 0 || Date.now() > deadline) return notReady;
    await sleep(500);
  }
}
