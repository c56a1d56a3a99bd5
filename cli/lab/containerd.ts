// containerd for one lab node (`lab up --kubelet real`), started as a process, not a service: its
// configuration holds only what differs from containerd's defaults (it merges the rest). The
// CRI settings below are what containerd 1.6 with runc needs on these machines (cgroup v1,
// no AppArmor, no systemd): without disable_cgroup and restrict_oom_score_adj, runc fails
// with "can't get final child's PID from pipe: EOF" (/work/shared/notes/real-nodes.md).

export interface ContainerdPaths {
  root: string;
  state: string;
  /** The gRPC socket (kubelet's --container-runtime-endpoint, `ctr -a`). */
  socket: string;
  /** containerd 1.6 takes one CNI plugin directory and uses the first conflist in conf_dir. */
  cniBinDir: string;
  cniConfDir: string;
  /** An image imported beforehand: the sandbox of every pod (no registry is reachable). */
  sandboxImage: string;
}

function q(s: string): string {
  return JSON.stringify(s);
}

export function containerdConfig(p: ContainerdPaths): string {
  return [
    'version = 2',
    `root = ${q(p.root)}`,
    `state = ${q(p.state)}`,
    '[grpc]',
    `  address = ${q(p.socket)}`,
    '[ttrpc]',
    `  address = ${q(`${p.socket}.ttrpc`)}`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    '  disable_cgroup = true',
    '  restrict_oom_score_adj = true',
    '  disable_apparmor = true',
    `  sandbox_image = ${q(p.sandboxImage)}`,
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = ${q(p.cniBinDir)}`,
    `    conf_dir = ${q(p.cniConfDir)}`,
    // Naming any runtime table replaces containerd's default one: the runtime is spelled out.
    '  [plugins."io.containerd.grpc.v1.cri".containerd]',
    '    default_runtime_name = "runc"',
    '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '      runtime_type = "io.containerd.runc.v2"',
    '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    '        SystemdCgroup = false',
    '',
  ].join('\n');
}
