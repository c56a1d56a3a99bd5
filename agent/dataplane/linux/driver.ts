// The `linux` data plane: descriptors for the item families the kernel implements here, each
// built with only the ports it uses. `hostNetns` runs every node-side command in another
// namespace (tests and the lab run several nodes on one machine); in production it is unset
// and the agent runs in the host's namespace.
import type { Driver } from '../../scheduler/descriptor.ts';
import { addressDescriptor } from './descriptors/address.ts';
import { overlayDescriptor } from './descriptors/overlay.ts';
import { peerSetDescriptor } from './descriptors/peer-set.ts';
import { podInterfaceDescriptor } from './descriptors/pod-interface.ts';
import { policyDescriptor } from './descriptors/policy.ts';
import { routeDescriptor } from './descriptors/route.ts';
import { serviceDescriptor } from './descriptors/service.ts';
import { snatDescriptor } from './descriptors/snat.ts';
import { tunnelDescriptor } from './descriptors/tunnel.ts';
import { vrfDescriptor } from './descriptors/vrf.ts';
import { spawnRunner, type Runner } from './exec.ts';
import { KernelAddresses } from './kernel/addresses.ts';
import { KernelNat } from './kernel/nat.ts';
import { KernelNftTable } from './kernel/nft-table.ts';
import { KernelNode } from './kernel/node.ts';
import { KernelPeers } from './kernel/peers.ts';
import { KernelPodLinks } from './kernel/pod-links.ts';
import { KernelRoutes } from './kernel/routes.ts';
import { KernelRules } from './kernel/rules.ts';
import { KernelServices } from './kernel/services.ts';
import { KernelVxlan } from './kernel/vxlan.ts';
import { DEFAULT_NAMES, type LinuxNames } from './naming.ts';
import { policyTableSpec } from './policy-plan.ts';
import type { LinuxPorts } from './ports.ts';
import { KernelTools } from './tools.ts';
import { NetlinkPodLinks } from './netlink/client.ts';
import type { IpSession } from '../../../lib/iproute.ts';

export interface LinuxDriverOptions {
  /** Namespace of the node side (a path or /run/netns name); unset: the agent's own. */
  hostNetns?: string;
  names?: Partial<LinuxNames>;
  /** Process runner (tests pass a counting one). */
  runner?: Runner;
  /** Per-command timeout. */
  timeoutMs?: number;
  /**
   * A long-lived `ip` for the node namespace (lib/iproute.ts IpSession). Off unless given: a
   * long-lived iproute2 keeps a device name → index cache that a device deleted and re-created
   * by someone else (a repair after a hand wipe) leaves stale (ADR 0007).
   */
  session?: IpSession | false;
  /**
   * Pod veths wired by the netlink helper started with this command (netlink/locate.ts, ADR 0019)
   * instead of two `ip` processes per pod; unset: iproute2.
   */
  netlink?: { command: readonly string[] };
}

/** The kernel ports, for the driver and for tests that inspect the data plane. */
export function kernelPorts(opts: LinuxDriverOptions = {}): LinuxPorts {
  const names = { ...DEFAULT_NAMES, ...opts.names };
  const ns = opts.hostNetns;
  const session = opts.session === false ? undefined : opts.session;
  const tools = new KernelTools(
    opts.runner ?? spawnRunner({ timeoutMs: opts.timeoutMs }),
    session ? { netns: ns, ip: session } : undefined,
    opts.timeoutMs,
  );
  const kernelLinks = new KernelPodLinks(tools, ns, names);
  return {
    links: opts.netlink
      ? new NetlinkPodLinks({
          command: opts.netlink.command,
          ...(ns !== undefined ? { hostNetns: ns } : {}),
          names,
          reader: kernelLinks,
          ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        })
      : kernelLinks,
    routes: new KernelRoutes(tools, ns, names),
    rules: new KernelRules(tools, ns, names),
    addresses: new KernelAddresses(tools, ns, names),
    vxlan: new KernelVxlan(tools, ns, names),
    peers: new KernelPeers(tools, ns),
    nat: new KernelNat(tools, ns, names),
    services: new KernelServices(tools, ns, names),
    policies: new KernelNftTable(tools, ns, policyTableSpec(names.policyTable)),
    node: new KernelNode(tools, ns),
  };
}

/** The driver over any implementation of the ports (the kernel's, or fake/kernel.ts). */
export function linuxDriverWith(ports: LinuxPorts, names: Partial<LinuxNames> = {}): Driver {
  const n = { ...DEFAULT_NAMES, ...names };
  // Pod routes a wiring has just installed, until their route item claims them (route.ts).
  const wiredRoutes = new Set<string>();
  return {
    name: 'linux',
    descriptors: [
      vrfDescriptor(ports, n),
      podInterfaceDescriptor(ports, wiredRoutes, n),
      addressDescriptor(ports, n),
      routeDescriptor(ports, wiredRoutes, n),
      overlayDescriptor(ports, n),
      tunnelDescriptor(ports, n),
      snatDescriptor(ports, n),
      serviceDescriptor(ports),
      peerSetDescriptor(ports),
      policyDescriptor(ports),
    ] as Driver['descriptors'],
  };
}

export function createLinuxDriver(opts: LinuxDriverOptions = {}): Driver {
  const session = opts.session === false ? undefined : opts.session;
  const ports = kernelPorts({ ...opts, session: session ?? false });
  const driver = linuxDriverWith(ports, opts.names);
  return {
    ...driver,
    close: async () => {
      session?.close();
      if (ports.links instanceof NetlinkPodLinks) await ports.links.close();
    },
  };
}
