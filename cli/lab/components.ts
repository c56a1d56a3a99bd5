// Every process of a lab, as data: how to start it (a DaemonSpec derived from lab.json only, so
// `lab up`, `lab restart` and the supervisor start it identically), what it waits for, and how
// to tell it is ready. Order matters: a component starts after those it names in `after`.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { PkiFiles } from '../../lib/etcd/pki.ts';
import { join } from 'node:path';
import { agentConfigSchema } from '../../agent/config.ts';
import type { Found } from './binaries.ts';
import type { DaemonSpec } from './daemon.ts';
import { get, ok200 } from './http.ts';
import { kubeFiles } from './kube-files.ts';
import { logFile, pidFile, VPP_UPLINK_LINK, type NodeLayout } from './layout.ts';
import { startupConf, uplinkCli, vppPaths, type VppBuild } from './vpp.ts';
import { inNode } from './real-node.ts';
import { realNodeComponents } from './real-components.ts';
import {
  apiserverUrl,
  etcdAccess,
  etcdEndpoint,
  httpTarget,
  labPki,
  layoutOf,
  type EtcdAccess,
  type LabState,
} from './state.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const NETLOOM = join(ROOT, 'cli', 'netloom.ts');

export interface Component {
  name: string;
  title: string;
  after: string[];
  spec: DaemonSpec;
  ready(): Promise<boolean>;
  /** Runs before every start (e.g. removes a socket a killed process left behind). */
  prepare?(): void;
  /** Where it answers, for people. */
  endpoint?: string;
  /** The node an agent serves. */
  node?: string;
}

export interface Binaries {
  etcd: Found;
  kubeApiserver: Found;
  kubeControllerManager: Found;
  /** Whether `netloom agent` exists in this checkout. */
  agent: boolean;
  /** Real-node labs only (`--kubelet real`). */
  kubelet?: Found;
  kubeScheduler?: Found;
  containerd?: Found;
  /** `kubectl apply -k` of deploy/ (real-node labs). */
  kubectl?: Found;
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/** /health answers 200 with health "true"; over TLS with a client certificate when `tls` is given. */
async function etcdHealthy(endpoint: string, tls?: EtcdAccess): Promise<boolean> {
  try {
    const res = await get(`${endpoint}/health`, {
      timeoutMs: 1_000,
      ...(tls ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {}),
    });
    return res.status === 200 && (JSON.parse(res.body) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

interface EtcdSpec {
  name: string;
  dataDir: string;
  client: string[];
  advertise: string;
  peerPort: number;
  version: string;
  /** TLS with client-certificate auth on every client URL (netloom's etcd); none for the API server's. */
  pki?: PkiFiles;
}

function etcdArgs({ name, dataDir, client, advertise, peerPort, version, pki }: EtcdSpec): string[] {
  // Peers stay plaintext: one member, on loopback, dialled by nobody.
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client.join(',')}`,
    `--advertise-client-urls=${advertise}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${name}=${peer}`,
    ...(pki
      ? [
          '--client-cert-auth',
          `--trusted-ca-file=${pki.ca}`,
          `--cert-file=${pki.server.cert}`,
          `--key-file=${pki.server.key}`,
        ]
      : []),
    '--logger=zap',
    '--log-level=warn',
    // The state dir is on /run (tmpfs) by default: fsync buys nothing there and costs a lot.
    ...(atLeast(version, 3, 5) ? ['--unsafe-no-fsync'] : []),
  ];
}

/** Where Debian's containernetworking-plugins installs the reference plugins. */
export const DEBIAN_CNI_DIR = '/usr/lib/cni';

/** Flag name (kebab case) of an agent setting, if this checkout's agent has it. */
function agentFlag(pattern: RegExp): string | undefined {
  const key = Object.keys(agentConfigSchema.shape).find((k) => pattern.test(k));
  return key?.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `netloom agent` for one lab node; settings the agent does not have (yet) are left out. */
export function agentArgs(node: NodeLayout, state: LabState): string[] {
  const cniSocket = agentFlag(/^cni.*Socket$/);
  const cniBinDirs = agentFlag(/^cniBinDirs$/);
  const tls = etcdAccess(state, 'agent');
  return [
    NETLOOM,
    'agent',
    '--node-name',
    node.name,
    '--cluster',
    state.cluster,
    // Through a unix socket (TLS, unixs://): the agent lives in its node's namespace, where
    // 127.0.0.1 is its own. gRPC checks etcd's certificate for `localhost` there.
    '--etcd-endpoints',
    `unixs://${layoutOf(state).files.etcdSocket}`,
    '--etcd-ca',
    tls.ca,
    '--etcd-cert',
    tls.cert,
    '--etcd-key',
    tls.key,
    '--state-dir',
    node.agentStateDir,
    '--metrics-addr',
    `unix:${node.apiSocket}`,
    '--management-ip',
    node.ip,
    // Lab nodes all start at once on one machine: a short settle is safe (> the check interval).
    '--identity-check-ms',
    '1000',
    '--id-settle-ms',
    '2500',
    // A restarted agent waits for its predecessor's lease on the node to lapse: keep that short.
    '--lease-ttl-seconds',
    '5',
    ...(cniSocket ? [`--${cniSocket}`, node.cniSocket] : []),
    // Plugins that NetworkAttachmentDefinitions name (macvlan, bridge…): the node's own, then
    // Debian's reference plugins.
    ...(cniBinDirs ? [`--${cniBinDirs}`, `/opt/cni/bin,${DEBIAN_CNI_DIR}`] : []),
    '--log-level',
    state.logLevel,
    ...(state.podCidr ? ['--pod-cidr', state.podCidr] : []),
    ...(state.serviceCidr ? ['--service-cidr', state.serviceCidr] : []),
    ...(state.mesh ? ['--mesh', 'true'] : []),
    ...(state.dataplane === 'vpp' && state.vpp ? vppAgentArgs(node, state.vpp) : []),
    ...(state.agentArgs ?? '').split(/\s+/).filter((a) => a !== ''),
  ];
}

/**
 * An agent on its node's VPP: the API socket, the definitions of that VPP's build, the uplink
 * (VPP's end of `vpp0`, whose address is also the VXLAN endpoint: the kernel's eth0 is not on
 * VPP's path), pods as veth pairs (no /dev/vhost-net needed).
 */
function vppAgentArgs(node: NodeLayout, build: VppBuild): string[] {
  return [
    '--dataplane',
    'vpp',
    '--vpp-socket',
    vppPaths(node.vppDir).apiSocket,
    ...(build.apiDir ? ['--vpp-api-dir', build.apiDir] : []),
    '--vpp-uplink-interface',
    `host-${VPP_UPLINK_LINK}`,
    '--vpp-uplink-address',
    node.vppIp,
    '--tunnel-endpoint',
    node.vppIp,
    '--vpp-pod-interface',
    'veth',
  ];
}

/** A node's VPP, started in the node's namespace with its uplink configured at start. */
function vppComponent(
  state: LabState,
  n: NodeLayout,
  build: VppBuild,
  daemon: (name: string, command: string, args: string[], extra?: Partial<DaemonSpec>) => DaemonSpec,
): Component {
  const paths = vppPaths(n.vppDir);
  const conf = join(n.vppDir, 'startup.conf');
  const cli = join(n.vppDir, 'uplink.cli');
  return {
    name: `vpp-${n.name}`,
    title: `VPP ${build.version} on ${n.name}`,
    after: [],
    node: n.name,
    endpoint: `unix:${paths.apiSocket}`,
    prepare: () => {
      mkdirSync(n.vppDir, { recursive: true });
      // A unique shared-memory prefix per lab and node: VPPs of one machine must not share it.
      const prefix = `netloom-${state.name}-${n.index}`; // lab down removes netloom-<name>-*
      writeFileSync(conf, startupConf(paths, { pluginDir: build.pluginDir, prefix, startupConfig: cli }));
      writeFileSync(cli, uplinkCli(VPP_UPLINK_LINK, `${n.vppIp}/24`));
      // A socket a killed VPP left would look ready before the new one listens.
      for (const s of [paths.apiSocket, paths.cliSocket]) rmSync(s, { force: true });
    },
    spec: daemon(`vpp-${n.name}`, build.bin, ['-c', conf], { netns: n.netns }),
    ready: () => Promise.resolve(existsSync(paths.apiSocket)),
  };
}

export function labComponents(state: LabState, bins: Binaries): Component[] {
  const layout = layoutOf(state);
  const kube = kubeFiles(layout.files.kubeDir);
  const marker = layout.marker;
  const daemon = (
    name: string,
    command: string,
    args: string[],
    extra: Partial<DaemonSpec> = {},
  ): DaemonSpec => ({
    command,
    args,
    logFile: logFile(layout, name),
    pidFile: pidFile(layout, name),
    marker,
    ...extra,
  });
  const node = process.execPath;
  const list: Component[] = [];
  const etcd = etcdEndpoint(state);
  const admin = etcdAccess(state);
  const ksrTls = etcdAccess(state, 'ksr');

  if (bins.etcd.ok) {
    const e = bins.etcd;
    // A joined lab uses the other lab's netloom etcd; it has only the API server's own. A
    // real-node lab's netloom etcd is deploy/'s StatefulSet (real-deploy.ts).
    if (!state.join && state.kubelet !== 'real')
      list.push({
        name: 'etcd',
        title: `etcd ${e.version} (netloom's store)`,
        after: [],
        endpoint: etcd,
        prepare: () => rmSync(layout.files.etcdSocket, { force: true }),
        spec: daemon(
          'etcd',
          e.path,
          etcdArgs({
            name: 'netloom',
            dataDir: layout.files.etcdData,
            // Loopback for the host's processes, the socket for the agents: nowhere else.
            client: [etcd, `unixs://${layout.files.etcdSocket}`],
            advertise: etcd,
            peerPort: state.ports.etcdPeer,
            version: e.version,
            pki: labPki(state),
          }),
        ),
        ready: () => etcdHealthy(etcd, admin),
      });
    const kubeEtcd = `http://127.0.0.1:${state.ports.kubeEtcd}`;
    list.push({
      name: 'kube-etcd',
      title: `etcd ${e.version} (the API server's)`,
      after: [],
      endpoint: kubeEtcd,
      spec: daemon(
        'kube-etcd',
        e.path,
        etcdArgs({
          name: 'kube',
          dataDir: layout.files.kubeEtcdData,
          client: [kubeEtcd],
          advertise: kubeEtcd,
          peerPort: state.ports.kubeEtcdPeer,
          version: e.version,
        }),
      ),
      ready: () => etcdHealthy(kubeEtcd),
    });
  }

  const api = apiserverUrl(state);
  const real = state.kubelet === 'real';
  const apiHost = new URL(api).hostname;
  if (bins.kubeApiserver.ok) {
    list.push({
      name: 'kube-apiserver',
      title: `kube-apiserver ${bins.kubeApiserver.version}`,
      after: ['kube-etcd'],
      endpoint: api,
      spec: daemon('kube-apiserver', bins.kubeApiserver.path, [
        `--etcd-servers=http://127.0.0.1:${state.ports.kubeEtcd}`,
        `--bind-address=${apiHost}`,
        `--secure-port=${state.ports.apiserver}`,
        // Real nodes: the `kubernetes` Service points at the underlay address, and logs/exec dial
        // the kubelet at its InternalIP (the node's underlay address).
        // deploy/'s agent DaemonSet is privileged, which the API server refuses unless allowed.
        ...(real
          ? [
              `--advertise-address=${apiHost}`,
              '--kubelet-preferred-address-types=InternalIP',
              '--allow-privileged=true',
            ]
          : []),
        `--cert-dir=${kube.certDir}`,
        `--token-auth-file=${kube.tokens}`,
        '--authorization-mode=RBAC',
        `--service-account-key-file=${kube.saPub}`,
        `--service-account-signing-key-file=${kube.saKey}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-cluster-ip-range=${state.serviceCidr ?? '10.96.0.0/12'}`,
        '--enable-priority-and-fairness=false',
        '--profiling=false',
        '--v=1',
      ]),
      ready: () => ok200(`${api}/readyz`, { token: state.token, timeoutMs: 2_000 }),
    });
  }

  if (bins.kubeControllerManager.ok) {
    const url = `https://127.0.0.1:${state.ports.controllerManager}`;
    list.push({
      name: 'kube-controller-manager',
      title: `kube-controller-manager ${bins.kubeControllerManager.version}`,
      after: ['kube-apiserver'],
      endpoint: url,
      spec: daemon('kube-controller-manager', bins.kubeControllerManager.path, [
        `--kubeconfig=${kube.kubeconfig}`,
        `--authentication-kubeconfig=${kube.kubeconfig}`,
        `--authorization-kubeconfig=${kube.kubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${state.ports.controllerManager}`,
        `--cert-dir=${join(kube.dir, 'kcm-certs')}`,
        '--leader-elect=false',
        '--use-service-account-credentials=false',
        `--service-account-private-key-file=${kube.saKey}`,
        `--root-ca-file=${kube.servingCert}`,
        `--cluster-name=${state.name}`,
        // netloom allocates pod subnets itself; no cloud.
        '--allocate-node-cidrs=false',
        '--v=1',
      ]),
      ready: () => ok200(`${url}/healthz`, { timeoutMs: 2_000 }),
    });
  }

  const ksrUrl = `http://127.0.0.1:${state.ports.ksrMetrics}`;
  // Real nodes: KSR and the agents are deploy/'s Deployment and DaemonSet, not lab processes.
  if (!real)
    list.push({
      name: 'ksr',
      title: 'KSR (Kubernetes → etcd)',
      after: ['etcd', 'kube-apiserver'],
      endpoint: ksrUrl,
      spec: daemon('ksr', node, [
        NETLOOM,
        'ksr',
        '--kubeconfig',
        kube.kubeconfig,
        '--etcd-endpoints',
        etcd,
        '--etcd-ca',
        ksrTls.ca,
        '--etcd-cert',
        ksrTls.cert,
        '--etcd-key',
        ksrTls.key,
        '--cluster',
        state.cluster,
        '--metrics-addr',
        `127.0.0.1:${state.ports.ksrMetrics}`,
        '--identity',
        `${state.name}-ksr`,
        '--lb-pools',
        `default=${state.lbPool}`,
        '--log-level',
        state.logLevel,
        // The agents' ranges: a netloom network (NAD) overlapping them is refused.
        ...(state.podCidr ? ['--pod-cidr', state.podCidr] : []),
        ...(state.serviceCidr ? ['--service-cidr', state.serviceCidr] : []),
      ]),
      ready: () => ok200(`${ksrUrl}/readyz`),
    });

  const vpp = state.dataplane === 'vpp' ? state.vpp : undefined;
  if (vpp && !real) for (const n of layout.nodes) list.push(vppComponent(state, n, vpp, daemon));
  if (bins.agent && !real) {
    for (const n of layout.nodes) {
      list.push({
        name: `agent-${n.name}`,
        title: `agent on ${n.name}`,
        after: vpp ? ['etcd', `vpp-${n.name}`] : ['etcd'],
        node: n.name,
        endpoint: `unix:${n.apiSocket}`,
        prepare: () => {
          rmSync(n.cniSocket, { force: true });
          rmSync(n.apiSocket, { force: true });
        },
        // On a real node the agent shares the node's mount namespace too: it opens the pod
        // network namespaces containerd mounted there.
        spec: daemon(
          `agent-${n.name}`,
          node,
          agentArgs(n, state),
          real ? { wrap: inNode(layout, n) } : { netns: n.netns },
        ),
        ready: () => ok200('http://agent/readyz', { socketPath: n.apiSocket }),
      });
    }
  }

  if (real) list.push(...realNodeComponents(state, bins, daemon));
  const kubeletAddr = state.kubeletAddr;
  if (!real)
    list.push({
      name: 'kubelet',
      title: `node simulator (kubelet × ${state.nodes}, scheduler)`,
      after: ['kube-apiserver'],
      endpoint: kubeletAddr,
      spec: daemon('kubelet', node, [
        NETLOOM,
        'lab',
        'kubelet',
        '--name',
        state.name,
        '--state-dir',
        state.stateDir,
        '--metrics-addr',
        kubeletAddr,
        '--log-level',
        state.logLevel,
      ]),
      ready: () => {
        const t = httpTarget(kubeletAddr, '/readyz');
        return ok200(t.url, t.socketPath ? { socketPath: t.socketPath } : {});
      },
    });

  list.push({
    name: 'supervisor',
    title: 'supervisor (restarts what dies)',
    after: [],
    spec: daemon('supervisor', node, [
      NETLOOM,
      'lab',
      'supervise',
      '--name',
      state.name,
      '--state-dir',
      state.stateDir,
    ]),
    ready: () => Promise.resolve(true),
  });
  return list;
}

/** Reads the agent's existence from the checkout: `netloom agent` lands with agent/main.ts. */
export function agentAvailable(): boolean {
  return (
    existsSync(join(ROOT, 'agent', 'main.ts')) &&
    readFileSync(join(ROOT, 'cli', 'netloom.ts'), 'utf8').includes('agent:')
  );
}
