// `netloom agent` settings: flags (--node-name …), NETLOOM_* environment, or a config file.
import { hostname, networkInterfaces } from 'node:os';
import { z } from 'zod';
import { bool, list, num } from '../lib/config.ts';
import { ConfigError } from '../lib/errors.ts';
import { DEFAULT_SOCKET as STN_SOCKET } from '../stn/grpc.ts';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => num().pipe(z.number().int().min(min).max(max));

export const agentConfigSchema = z.object({
  /** This node's Kubernetes name (NODE_NAME from the downward API in the DaemonSet). */
  nodeName: z
    .string()
    .min(1)
    .default(process.env['NODE_NAME'] ?? hostname()),
  cluster: z.string().default('default'),
  /** `https://`/`unixs://` speak TLS with --etcd-ca and --etcd-cert + --etcd-key; lib/etcd/client.ts checks the combination (ADR 0008). */
  etcdEndpoints: list(z.string().url()).default(['http://127.0.0.1:2379']),
  etcdCa: z.string().optional(),
  etcdCert: z.string().optional(),
  etcdKey: z.string().optional(),
  /** host:port of /livez, /readyz, /metrics and the read-only /api/v1/… routes. */
  metricsAddr: z.string().default('0.0.0.0:9102'),
  /** Node-local state that must outlive the agent and etcd: node ID, attachments. */
  stateDir: z.string().default('/var/lib/netloom'),
  /** Data plane driver. `fake` keeps items in a file in stateDir (tests, dry runs). */
  dataplane: z.enum(['linux', 'vpp', 'fake']).default('linux'),
  podCidr: z.string().default('10.1.0.0/16'),
  nodePrefixLength: int(1, 30).default(24),
  gatewayOffset: int(1).default(1),
  /** Host offsets in every node subnet never handed out, besides network, gateway, broadcast. */
  reservedOffsets: list(int(0)).default([]),
  serviceCidr: z.string().default('10.96.0.0/12'),
  vxlanVni: int(1, 16_777_215).default(10),
  vxlanPort: int(1, 65_535).default(4789),
  /**
   * Route to the other clusters sharing netloom's etcd that have the mesh on too (agent/mesh/):
   * their nodes become overlay peers on --vxlan-vni and their pod CIDRs are left out of source
   * NAT. Needs disjoint pod and service CIDRs across those clusters (else the agent refuses to start).
   */
  mesh: bool().default(false),
  mtu: int(576, 65_535).default(1450),
  /** This node's address; by default the first non-loopback IPv4 address. */
  managementIp: z.string().optional(),
  /** Underlay address for VXLAN; defaults to managementIp. Set to "" to disable the overlay. */
  tunnelEndpoint: z.string().optional(),
  leaseTtlSeconds: int(2).default(15),
  /** Interval of the node ID / nodes/info re-assert check. */
  identityCheckMs: int(50).default(5_000),
  /** How long a new node holds a fresh ID claim before using it (> identityCheckMs of every node). */
  idSettleMs: int(0).default(15_000),
  /** How long to wait for another agent's lease on this node to expire before giving up. */
  ownerWaitMs: int(0).default(20_000),
  /** Full resync (read the data plane back, repair) every so often; 0 disables. */
  resyncIntervalSeconds: int(0).default(600),
  /** IPAM leak collection interval; 0 disables. */
  ipamGcIntervalSeconds: int(0).default(300),
  /** Release a deleted Node's ID and IPAM records this long after the delete; 0 never. */
  releaseDeletedNodesAfterSeconds: int(0).default(300),
  /** The linux driver's node-side network namespace (path or /run/netns name); unset: the agent's own. Lets several node agents share one machine (tests, the lab). */
  linuxNetns: z.string().optional(),
  /**
   * The linux driver starts `ip`/`nft` through a few long-lived `/bin/sh` relays that fork them
   * (lib/process-relay.ts) instead of forking the agent itself: several ms less per process on
   * a busy node. Every command is still a fresh process (ADR 0007, docs/performance.md).
   */
  processRelay: bool().default(true),
  /** How many relays at most; requests beyond wait for a free one. */
  processRelaySize: int(1, 64).default(4),
  /**
   * How the linux driver wires pod veths: `netlink` (rtnetlink requests from one long-lived
   * helper: ADR 0019, docs/performance.md), `iproute2` (two `ip` processes per pod), or `auto`:
   * the helper where one is found (dist/netloom-netlink, or Bun), else iproute2.
   */
  podWiring: z.enum(['auto', 'iproute2', 'netlink']).default('auto'),
  /**
   * Where the CNI plugins named by NetworkAttachmentDefinitions are found, in order (the node's
   * /opt/cni/bin in the DaemonSet): extra interfaces of other types are delegated to them.
   */
  cniBinDirs: list(z.string()).default(['/opt/cni/bin']),
  /** How long an ADD waits for a pod KSR has not mirrored yet once networks or NADs exist. */
  podWaitMs: int(0).default(3_000),
  /** VPP's binary API socket (the vpp data plane). */
  vppSocket: z.string().default('/run/vpp/api.sock'),
  /** Where VPP's .api.json definitions are installed; 'server' fetches them from VPP (>= 24.06). */
  vppApiDir: z.string().default('/usr/share/vpp/api'),
  /** VPP's uplink interface and its IPv4 address (source NAT, node ports); '' leaves NAT out. */
  vppUplinkInterface: z.string().default(''),
  vppUplinkAddress: z.string().default(''),
  /**
   * How the vpp data plane makes pod interfaces: `tap` (tap_create_v3; needs /dev/vhost-net),
   * `veth` (a veth pair whose node end VPP reads with af_packet), or `auto`: `veth` where
   * /dev/vhost-net does not exist, else `tap` (agent/dataplane/vpp/README.md).
   */
  vppPodInterface: z.enum(['tap', 'veth', 'auto']).default('auto'),
  /**
   * STN (a node whose only NIC the data plane takes; `vpp` only): at start the agent has the
   * STN daemon steal `stnInterface` and gives VPP its recorded configuration: VPP's interface
   * for it (found by MAC), the node's address, and a host TAP `stnHostInterface` with the NIC's
   * MAC, address and default gateway (agent/dataplane/vpp/stn-host.ts).
   */
  stn: bool().default(false),
  stnSocket: z.string().min(1).default(STN_SOCKET),
  stnInterface: z.string().default(''),
  /** Bind the NIC to vfio-pci for DPDK (the daemon does it after recording the configuration). */
  stnUnbind: bool().default(false),
  stnHostInterface: z.string().min(1).max(15).default('vpp-host'),
  /** How long to wait for an STN daemon that is not answering yet. */
  stnRetryMs: int(0).default(30_000),
  /**
   * Give the NIC back on SIGTERM. Off by default: a rolling update stops the agent while VPP
   * keeps forwarding on the NIC; the daemon's watchdog gives it back when VPP itself is gone.
   */
  stnReleaseOnStop: bool().default(false),
  /** The CNI server's unix socket (the conflist's agentSocket); '' disables. Default /run/netloom/cni.sock, none with the fake data plane. */
  cniSocket: z.string().optional(),
  /** How long a CNI ADD waits for the pod's items to be applied before answering 11. */
  cniAddTimeoutMs: int(100).default(30_000),
  /**
   * /livez fails once a view update or a scheduler transaction has run this long (wedged; the
   * kubelet then restarts the agent). Keep it above the slowest full resync of a node.
   */
  livenessStuckSeconds: int(1).default(120),
  /**
   * Answer the health-check node ports of LoadBalancer Services with `externalTrafficPolicy:
   * Local` (as kube-proxy does), on every address of the node (agent/service-health/).
   */
  healthCheckNodePorts: bool().default(true),
  /** Let the scheduler retry on its own timers (off only for tests that drive retries). */
  autoRetry: bool().default(true),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;

/** The device TAP interfaces need (vhost-net backs VPP's virtio TAPs). */
export const VHOST_NET = '/dev/vhost-net';

/** The vpp pod-interface form to use: `auto` is `tap` when /dev/vhost-net exists, else `veth`. */
export function vppPodInterfaceForm(
  choice: AgentConfig['vppPodInterface'],
  exists: (path: string) => boolean,
): 'tap' | 'veth' {
  if (choice !== 'auto') return choice;
  return exists(VHOST_NET) ? 'tap' : 'veth';
}

/** The management IP: configured, else the first non-internal IPv4 address of the host. */
export function managementIp(config: AgentConfig): string {
  if (config.managementIp) return config.managementIp;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new ConfigError('managementIp', 'no non-loopback IPv4 address found on this host; set it explicitly');
}
