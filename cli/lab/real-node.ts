// The lab's real nodes (`lab up --kubelet real`): each node is a network namespace (its host
// network, as in the simulated mode) AND a mount namespace in which the node's own directories
// are bind-mounted over the standard paths — /opt/cni/bin, /etc/cni/net.d, /var/lib/kubelet,
// /run/netloom, /var/lib/netloom, containerd's /var/lib/containerd and /run/containerd, the pod
// network namespaces' /run/netns, the pod logs — so every node has its own view of them, as
// separate machines would. containerd, kubelet and netloom's agent of a node run inside both
// namespaces (nsenter), so the pod namespace containerd creates is the one the agent opens.
//
// The mount namespace persists without a process, bound to a file under <state>/mntns (a private
// mount: a namespace file must not be bound where it could propagate into itself). Slave
// propagation: the host's later mounts reach the node, the node's (containerd's overlays,
// pod netns files) stay in it and vanish with it.
//
// The API server, in the host's namespace, is reached over a veth from the host into the
// underlay bridge (`hostIp`); it listens on that address only.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addressOf, hostAt, networkOf } from '../../lib/cidr.ts';
import { containerdConfig } from './containerd.ts';
import { LabError, run, runOk } from './exec.ts';
import type { LabLayout, NodeLayout } from './layout.ts';
import { ipBatch, links } from './netns.ts';

/** The standard paths each real node gets its own copy of (bind mounts in its mount namespace). */
export const NODE_PATHS = [
  '/opt/cni/bin',
  '/etc/cni/net.d',
  '/var/lib/kubelet',
  '/var/log/pods',
  '/var/log/containers',
  '/var/log/netloom',
  '/run/netloom',
  '/var/lib/netloom',
  '/var/lib/containerd',
  '/run/containerd',
  '/run/netns',
  // hostPaths of netloom's own manifests (deploy/base): the Node runtime install-cni copies for
  // the shim, and the data of netloom's etcd on the node it runs on.
  '/opt/netloom/bin',
  '/var/lib/netloom-etcd',
] as const;

/** The host's address on the underlay (the bridge is .1, nodes .11 and up). */
export function hostIp(layout: LabLayout): string {
  return hostAt(networkOf(`${addressOf(layout.bridgeAddress)}/24`), 2);
}

/** The host end of the veth into the underlay (≤ 15 characters: the lab name has ≤ 8). */
export function hostLink(layout: LabLayout): string {
  return `nlh-${layout.name}`;
}

export interface RealNodeFiles {
  /** The persistent mount namespace (an nsfs bind mount). */
  mntns: string;
  /** Host-side directory holding the node's copy of NODE_PATHS (`<root>/opt/cni/bin`, …). */
  root: string;
  containerdConfig: string;
  /** containerd's socket as the node sees it, and as the host reaches it. */
  containerdSocket: string;
  containerdSocketFromHost: string;
  kubeletConfig: string;
}

export function mntnsDir(layout: LabLayout): string {
  return join(layout.stateDir, 'mntns');
}

export function realNodeFiles(layout: LabLayout, node: NodeLayout): RealNodeFiles {
  const root = join(node.dir, 'root');
  return {
    mntns: join(mntnsDir(layout), node.name),
    root,
    containerdConfig: join(node.dir, 'containerd.toml'),
    containerdSocket: '/run/containerd/containerd.sock',
    containerdSocketFromHost: join(root, 'run', 'containerd', 'containerd.sock'),
    kubeletConfig: join(node.dir, 'kubelet.yaml'),
  };
}

/** The host's veth into the underlay bridge, with the host's underlay address. Idempotent. */
export async function ensureHostLink(layout: LabLayout): Promise<void> {
  const name = hostLink(layout);
  const ip = hostIp(layout);
  const host = await run('ip', ['-j', 'address', 'show', 'dev', name]);
  if (host.code === 0 && host.stdout.includes(`"${ip}"`)) return;
  // Another device on the host with an address in the same /24 would take the lab's traffic.
  const routes = await runOk('ip', ['-4', 'route', 'show', 'match', ip]);
  const clash = routes
    .split('\n')
    .find((r) => r.includes(' dev ') && !r.startsWith('default') && !r.includes(`dev ${name} `));
  if (clash) {
    throw new LabError(
      `the host already routes ${ip} (${clash.trim()}): pick another --underlay-cidr for a real-node lab`,
    );
  }
  if (host.code === 0) await ipBatch(undefined, [`link del ${name}`]);
  if ((await links(layout.underlayNetns)).some((l) => l.ifname === 'host'))
    await ipBatch(layout.underlayNetns, ['link del host']);
  await ipBatch(undefined, [
    `link add ${name} type veth peer name host netns ${layout.underlayNetns}`,
    `address add ${ip}/24 dev ${name}`,
    `link set ${name} up`,
  ]);
  await ipBatch(layout.underlayNetns, [`link set host master ${layout.bridge}`, 'link set host up']);
}

async function isMountpoint(path: string): Promise<boolean> {
  return (await run('mountpoint', ['-q', path])).code === 0;
}

/** Makes (or keeps) the node's mount namespace with its bind mounts. */
export async function ensureMountNs(layout: LabLayout, node: NodeLayout): Promise<void> {
  const dir = mntnsDir(layout);
  mkdirSync(dir, { recursive: true });
  if (!(await isMountpoint(dir))) {
    await runOk('mount', ['--bind', dir, dir]);
    await runOk('mount', ['--make-private', dir]);
  }
  const f = realNodeFiles(layout, node);
  if (existsSync(f.mntns) && (await isMountpoint(f.mntns))) return;
  writeFileSync(f.mntns, '');
  const binds: string[] = [];
  for (const p of NODE_PATHS) {
    const src = join(f.root, p);
    mkdirSync(src, { recursive: true });
    // The mount point must exist on the host's filesystem; an empty directory is created if not.
    // Shared inside the node (a peer group of its own, the host is not in it): a container that
    // mounts one with HostToContainer propagation — the agent's /var/run/netns — then sees the
    // pod namespaces containerd binds there later, and containerd accepts such a volume only
    // from a shared or slave mount.
    binds.push(`mkdir -p '${p}' && mount --bind '${src}' '${p}' && mount --make-shared '${p}'`);
  }
  // The node's root shared too: containerd finds the mount of a volume's path by prefix without
  // resolving symlinks, so /var/run/netns (/var/run → /run) is judged by "/", which it requires
  // to be shared or slave. The host's root is private on these machines; a slave of it is too.
  binds.push('mount --make-shared /');
  await runOk('unshare', [`--mount=${f.mntns}`, '--propagation', 'slave', 'sh', '-ec', binds.join('\n')]);
}

/** The command prefix that runs a program inside a node's network and mount namespaces. */
export function inNode(layout: LabLayout, node: NodeLayout): string[] {
  return ['nsenter', `--mount=${realNodeFiles(layout, node).mntns}`, `--net=/run/netns/${node.netns}`, '--'];
}

/** containerd's and kubelet's configuration files for a node. */
export function writeNodeConfigs(layout: LabLayout, node: NodeLayout, sandboxImage: string): void {
  const f = realNodeFiles(layout, node);
  mkdirSync(node.dir, { recursive: true });
  writeFileSync(
    f.containerdConfig,
    containerdConfig({
      root: '/var/lib/containerd',
      state: '/run/containerd',
      socket: f.containerdSocket,
      cniBinDir: '/opt/cni/bin',
      cniConfDir: '/etc/cni/net.d',
      sandboxImage,
    }),
  );
  // What kubelet 1.37 needs on these machines (cgroup v1, no systemd; notes/real-nodes.md), and
  // anonymous, always-allowed access to its API for the lab's `kubectl logs/exec` (the API
  // server presents no client certificate to kubelets here).
  writeFileSync(
    f.kubeletConfig,
    `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
localStorageCapacityIsolation: false
readOnlyPort: 0
address: ${node.ip}
healthzBindAddress: 127.0.0.1
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
serializeImagePulls: false
registerNode: true
podPidsLimit: -1
`,
  );
}

/** Whether a path is a socket (containerd listening). */
export function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/** Imports image archives into a node's containerd (namespace k8s.io, where kubelet looks). */
export async function importImages(layout: LabLayout, node: NodeLayout, archives: string[]): Promise<void> {
  const sock = realNodeFiles(layout, node).containerdSocketFromHost;
  for (const a of archives) {
    await runOk('ctr', ['-a', sock, '-n', 'k8s.io', 'images', 'import', '--all-platforms', a], {
      timeoutMs: 300_000,
    });
  }
}

/** Mounts of the lab on the host (the mount namespace files and their private directory), deepest first. */
export async function unmountLab(layout: LabLayout): Promise<void> {
  const dir = mntnsDir(layout);
  const mounts = (await runOk('cat', ['/proc/self/mounts']))
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]);
}
