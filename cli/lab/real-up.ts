// `lab up --kubelet real`, before the daemons start: the host's link into the underlay, each
// node's mount namespace, the one CNI plugin a node's OS brings (`loopback`, which containerd runs
// for every pod's lo; Debian's kubernetes-cni package on a kubeadm node), and the image archives.
// netloom's shim, portmap and the conflist are NOT installed here: the agent DaemonSet's init
// container does that once `kubectl apply -k` ran (real-deploy.ts), so a node stays NotReady
// until netloom made it so. Afterwards: waiting for the kubelets' Nodes to be Ready.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Binaries } from './components.ts';
import { DEBIAN_CNI_DIR } from './components.ts';
import { LabError } from './exec.ts';
import { get } from './http.ts';
import type { LabLayout } from './layout.ts';
import { ensureLabImages } from './real-images.ts';
import { ensureHostLink, ensureMountNs, hostIp, realNodeFiles } from './real-node.ts';
import { apiserverUrl, type LabState } from './state.ts';
import { sleep } from '../../lib/timing.ts';

export async function prepareRealNodes(_state: LabState, layout: LabLayout, bins: Binaries): Promise<string> {
  for (const [what, found] of [
    ['kubelet', bins.kubelet],
    ['kube-scheduler', bins.kubeScheduler],
    ['containerd', bins.containerd],
    ['kubectl', bins.kubectl],
  ] as const) {
    if (!found?.ok) throw new LabError(`--kubelet real needs ${what}: ${found?.reason ?? 'not looked up'}`);
  }
  await ensureHostLink(layout);
  for (const node of layout.nodes) {
    await ensureMountNs(layout, node);
    const root = realNodeFiles(layout, node).root;
    copyFileSync(join(DEBIAN_CNI_DIR, 'loopback'), join(root, 'opt/cni/bin', 'loopback'));
    mkdirSync(join(root, 'var/log/netloom'), { recursive: true });
  }
  const built = await ensureLabImages(bins.etcd);
  return `host ${hostIp(layout)} on the underlay, ${layout.nodes.length} mount namespaces${built.length > 0 ? `, images built (${built.join(', ')})` : ''}`;
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
