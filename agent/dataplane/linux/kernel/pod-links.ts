// Pod veths with iproute2. Wiring costs two processes: one batch in the node's namespace
// (create the pair with the peer born inside the pod's namespace, mark and raise the host
// side, route the pod's addresses to it) and one inside the pod (addresses, link-local gateway
// with a permanent neighbour, default route or the extra interface's prefixes). Unwiring is one `link del`: the peer and the
// routes through it go with it.
import { isCondition } from '../errors.ts';
import { netnsPath } from '../../../../lib/iproute.ts';
import {
  HOST_VETH_MAC,
  POD_GATEWAY_V4,
  POD_GATEWAY_V6,
  isV6,
  normalizeDst,
  type LinuxNames,
} from '../naming.ts';
import type { HostVeth, PodLinkPort, PodSide, PodWiring } from '../ports.ts';
import type { BatchLine, KernelTools } from '../tools.ts';
import { replaceLine } from './routes.ts';

interface IpLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  address?: string;
  ifalias?: string;
  link_index?: number;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
}

/** The host-side batch of a wiring (pure, for golden tests). */
export function hostWiringLines(w: PodWiring, names: LinuxNames): BatchLine[] {
  const h = w.hostIfName;
  return [
    { cmd: `link del ${h}`, ok: ['missing'] }, // a stale pair from a crashed attempt
    {
      cmd:
        `link add ${h} address ${w.hostMac ?? HOST_VETH_MAC} mtu ${w.mtu} type veth ` +
        `peer name ${w.ifname} address ${w.mac} mtu ${w.mtu} netns ${netnsPath(w.netns)}`,
    },
    { cmd: `link set ${h} alias ${names.aliasPrefix}${w.key}` },
    { cmd: `link set ${h} up` },
    ...w.hostRoutes.map((dst) => ({
      cmd: replaceLine({ dst, type: 'unicast', table: w.hostTable ?? 'main', dev: h }, names.routeProto),
    })),
  ];
}

/** One step inside the pod: what both wiring paths do there (this file's `ip`, netlink/helper.ts). */
export type PodStep =
  | { op: 'address'; cidr: string }
  | { op: 'up' }
  | { op: 'neighbour'; ip: string; mac: string }
  | { op: 'route'; dst: string; gateway?: string; onlink?: boolean };

/**
 * The pod side of a wiring, in order (pure). Extra prefixes (`routes`) go via the link-local
 * gateway `onlink`: the gateway's host route `169.254.1.1 dev <if> scope link` is the default
 * route's, on eth0, and an extra interface must not take it over (a second `route replace
 * 169.254.1.1` would move eth0's next hop to net1). Each interface gets its own permanent
 * neighbour for the gateway: neighbours are per device.
 */
export function podSteps(
  w: Pick<PodWiring, 'addresses' | 'defaultRoute' | 'routes' | 'gatewayMac'>,
): PodStep[] {
  const steps: PodStep[] = w.addresses.map((cidr) => ({ op: 'address', cidr }));
  steps.push({ op: 'up' });
  const mac = w.gatewayMac ?? HOST_VETH_MAC;
  const v4 = w.addresses.some((a) => !isV6(a));
  const routes = v4 ? (w.routes ?? []) : [];
  if (v4 && (w.defaultRoute || routes.length > 0)) steps.push({ op: 'neighbour', ip: POD_GATEWAY_V4, mac });
  if (w.defaultRoute && v4) {
    steps.push(
      { op: 'route', dst: POD_GATEWAY_V4 },
      { op: 'route', dst: 'default', gateway: POD_GATEWAY_V4 },
    );
  }
  for (const dst of routes) steps.push({ op: 'route', dst, gateway: POD_GATEWAY_V4, onlink: true });
  if (w.defaultRoute && w.addresses.some(isV6)) {
    steps.push(
      { op: 'neighbour', ip: POD_GATEWAY_V6, mac },
      { op: 'route', dst: '::/0', gateway: POD_GATEWAY_V6 },
    );
  }
  return steps;
}

/** The pod-side batch of a wiring: `podSteps` as `ip` lines (pure, for golden tests). */
export function podWiringLines(w: PodWiring): BatchLine[] {
  const i = w.ifname;
  return podSteps(w).map((s) => {
    switch (s.op) {
      case 'address':
        return { cmd: `addr add ${s.cidr} dev ${i}${isV6(s.cidr) ? ' nodad' : ''}` };
      case 'up':
        return { cmd: `link set ${i} up` };
      case 'neighbour':
        return { cmd: `neigh replace ${s.ip} lladdr ${s.mac} dev ${i} nud permanent` };
      case 'route':
        return {
          cmd:
            s.gateway === undefined
              ? `route replace ${s.dst} dev ${i} scope link`
              : `route replace ${s.dst} via ${s.gateway} dev ${i}${s.onlink === true ? ' onlink' : ''}`,
        };
    }
  });
}

export class KernelPodLinks implements PodLinkPort {
  private readonly tools: KernelTools;
  private readonly hostNetns: string | undefined;
  private readonly names: LinuxNames;

  constructor(tools: KernelTools, hostNetns: string | undefined, names: LinuxNames) {
    this.tools = tools;
    this.hostNetns = hostNetns;
    this.names = names;
  }

  async wire(w: PodWiring): Promise<void> {
    await this.tools.batch(this.hostNetns, hostWiringLines(w, this.names));
    try {
      await this.tools.batch(w.netns, podWiringLines(w));
    } catch (err) {
      // Leave nothing half-wired: the pod side goes with the host side.
      await this.unwire(w.hostIfName).catch(() => undefined);
      throw err;
    }
  }

  async unwire(hostIfName: string): Promise<void> {
    await this.tools.batch(this.hostNetns, [{ cmd: `link del ${hostIfName}`, ok: ['missing'] }]);
  }

  async hostVeths(): Promise<HostVeth[]> {
    const links = await this.tools.json<IpLink>(this.hostNetns, ['-d', 'link', 'show', 'type', 'veth']);
    return links.map((l) => {
      const alias = l.ifalias ?? '';
      return {
        hostIfName: l.ifname,
        ifindex: l.ifindex,
        ...(alias.startsWith(this.names.aliasPrefix)
          ? { key: alias.slice(this.names.aliasPrefix.length) }
          : {}),
        mtu: l.mtu,
        up: l.flags?.includes('UP') ?? false,
        mac: l.address ?? '',
        ...(l.link_index !== undefined ? { peerIfIndex: l.link_index } : {}),
      };
    });
  }

  async podSide(netns: string, ifname: string): Promise<PodSide | undefined> {
    let out: string[];
    try {
      out = await this.tools.batch(
        netns,
        [{ cmd: `addr show dev ${ifname}` }, { cmd: `route show dev ${ifname}` }],
        { json: true },
      );
    } catch (err) {
      if (isCondition(err, 'netns', 'missing')) return undefined;
      throw err;
    }
    const link = (JSON.parse(out[0] ?? '[]') as IpLink[])[0];
    if (!link) return undefined;
    const routes = JSON.parse(out[1] ?? '[]') as IpRoute[];
    return {
      ifname: link.ifname,
      ifindex: link.ifindex,
      mac: link.address ?? '',
      mtu: link.mtu,
      up: link.flags?.includes('UP') ?? false,
      addresses: (link.addr_info ?? [])
        .filter((a) => a.scope === 'global')
        .map((a) => `${a.local}/${a.prefixlen}`),
      defaultRoute: routes.some((r) => r.dst === 'default' && r.gateway === POD_GATEWAY_V4),
      // Read from the same listing: a pod without extra routes costs no further process.
      routes: routes
        .filter((r) => r.dst !== 'default' && r.gateway === POD_GATEWAY_V4)
        .map((r) => normalizeDst(r.dst, false)),
    };
  }
}
