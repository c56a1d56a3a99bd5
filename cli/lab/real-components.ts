// The components a real-node lab adds in place of the node simulator: kube-scheduler on the host,
// and per node containerd and kubelet inside the node's network and mount namespaces
// (real-node.ts). containerd is ready once it answers and holds the lab's images (imported from
// the `npm run image` archives, so a restarted containerd with a fresh root gets them again);
// a kubelet once its Node object exists. netloom itself is not here: `lab up` deploys it with
// `kubectl apply -k` (real-deploy.ts).
import { PAUSE_IMAGE } from '../../scripts/image.ts';
import type { Binaries, Component } from './components.ts';
import type { DaemonSpec } from './daemon.ts';
import { run } from './exec.ts';
import { ok200 } from './http.ts';
import { kubeFiles } from './kube-files.ts';
import { labImages } from './real-images.ts';
import { importImages, inNode, isSocket, realNodeFiles, writeNodeConfigs } from './real-node.ts';
import { apiserverUrl, layoutOf, type LabState } from './state.ts';

type DaemonFn = (name: string, command: string, args: string[], extra?: Partial<DaemonSpec>) => DaemonSpec;

export function realNodeComponents(state: LabState, bins: Binaries, daemon: DaemonFn): Component[] {
  const layout = layoutOf(state);
  const kube = kubeFiles(layout.files.kubeDir);
  const api = apiserverUrl(state);
  const list: Component[] = [];
  if (bins.kubeScheduler?.ok && state.ports.scheduler) {
    const url = `https://127.0.0.1:${state.ports.scheduler}`;
    list.push({
      name: 'kube-scheduler',
      title: `kube-scheduler ${bins.kubeScheduler.version}`,
      after: ['kube-apiserver'],
      endpoint: url,
      spec: daemon('kube-scheduler', bins.kubeScheduler.path, [
        `--kubeconfig=${kube.kubeconfig}`,
        `--authentication-kubeconfig=${kube.kubeconfig}`,
        `--authorization-kubeconfig=${kube.kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${state.ports.scheduler}`,
        '--leader-elect=false',
        '--v=1',
      ]),
      ready: () => ok200(`${url}/healthz`, { timeoutMs: 2_000 }),
    });
  }
  const containerd = bins.containerd;
  const kubelet = bins.kubelet;
  if (!containerd?.ok || !kubelet?.ok) return list;
  const images = labImages(bins.etcd.ok ? bins.etcd.version : 'unknown');
  for (const n of layout.nodes) {
    const f = realNodeFiles(layout, n);
    list.push({
      name: `containerd-${n.name}`,
      title: `containerd ${containerd.version} on ${n.name}`,
      after: [],
      node: n.name,
      endpoint: `unix:${f.containerdSocketFromHost}`,
      prepare: () => writeNodeConfigs(layout, n, PAUSE_IMAGE),
      spec: daemon(`containerd-${n.name}`, containerd.path, ['--config', f.containerdConfig], {
        wrap: inNode(layout, n),
      }),
      ready: async () => {
        if (!isSocket(f.containerdSocketFromHost)) return false;
        const ls = await run('ctr', ['-a', f.containerdSocketFromHost, '-n', 'k8s.io', 'images', 'ls', '-q']);
        if (ls.code !== 0) return false;
        const have = ls.stdout.split('\n');
        const missing = images.filter((i) => !have.includes(i.name));
        if (missing.length > 0)
          await importImages(
            layout,
            n,
            missing.map((i) => i.archive),
          );
        return true;
      },
    });
    list.push({
      name: `kubelet-${n.name}`,
      title: `kubelet ${kubelet.version} on ${n.name}`,
      after: [`containerd-${n.name}`, 'kube-apiserver'],
      node: n.name,
      spec: daemon(
        `kubelet-${n.name}`,
        kubelet.path,
        [
          `--config=${f.kubeletConfig}`,
          `--kubeconfig=${kube.kubeconfig}`,
          `--hostname-override=${n.name}`,
          `--node-ip=${n.ip}`,
          '--root-dir=/var/lib/kubelet',
          `--container-runtime-endpoint=unix://${f.containerdSocket}`,
          '--v=1',
        ],
        { wrap: inNode(layout, n) },
      ),
      ready: () => ok200(`${api}/api/v1/nodes/${n.name}`, { token: state.token, timeoutMs: 2_000 }),
    });
  }
  return list;
}
