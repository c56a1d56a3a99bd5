// The `vpp` data plane: the agent's item families as VPP configuration over the binary API
// (TAPs or veths given to VPP by af_packet, loopbacks, FIB tables and routes, L3 VXLAN
// tunnels, NAT44-ED mappings, ACLs). Each descriptor gets only the calls it uses. The driver
// owns the API client it is given only if it made it (createVppDriver); `vppDriverWith` leaves
// the client to its caller.
import type { Logger } from '../../../lib/logging.ts';
import type { Registry } from '../../../lib/metrics.ts';
import type { Driver } from '../../scheduler/descriptor.ts';
import { VppClient, type VppClientOptions } from './api/client.ts';
import type { ApiDefinitions } from './api/definitions.ts';
import { ConfigError } from '../../../lib/errors.ts';
import type { PodLinkPort } from '../linux/ports.ts';
import { AclCalls } from './calls/acl.ts';
import { AfPacketCalls } from './calls/af-packet.ts';
import { CnatCalls } from './calls/cnat.ts';
import { FibCalls } from './calls/fib.ts';
import { InterfaceCalls } from './calls/interfaces.ts';
import { NatCalls } from './calls/nat.ts';
import { VxlanCalls } from './calls/vxlan.ts';
import { addressDescriptor } from './descriptors/address.ts';
import { overlayDescriptor } from './descriptors/overlay.ts';
import { podInterfaceDescriptor } from './descriptors/pod-interface.ts';
import { podVethDescriptor } from './descriptors/pod-veth.ts';
import { peerSetDescriptor } from './descriptors/peer-set.ts';
import { policyDescriptor } from './descriptors/policy.ts';
import { PolicyAcls } from './descriptors/policy-acls.ts';
import { routeDescriptor } from './descriptors/route.ts';
import { serviceDescriptor } from './descriptors/service.ts';
import { snatDescriptor, type Uplink } from './descriptors/snat.ts';
import { tunnelDescriptor } from './descriptors/tunnel.ts';
import { vrfDescriptor } from './descriptors/vrf.ts';
import type { VppApi } from './vpp-api.ts';
import { ensureStnHost, type StnHostSpec } from './stn-host.ts';

export interface VppDriverOptions {
  /** The node's uplink: needed for source NAT and node ports. */
  uplink?: Uplink;
  /** false: pods are not NAT44 inside interfaces and NAT families are left out. Default true. */
  nat?: boolean;
  /**
   * How pod interfaces are made: `tap` (tap_create_v3, needs /dev/vhost-net; the default) or
   * `veth` (a veth pair, VPP's end by af_packet: descriptors/pod-veth.ts; needs `podLinks`).
   */
  podInterface?: 'tap' | 'veth';
  /** The veth form's wiring of veth pairs (the Linux driver's, in VPP's network namespace). */
  podLinks?: PodLinkPort;
  /** The overlay's UDP port, let through the NAT44 outside uplink untranslated (default 4789). */
  vxlanPort?: number;
}

/** Every message the driver sends; a VPP lacking one (or at another CRC) is reported at start. */
export const DRIVER_MESSAGES = [
  'sw_interface_dump',
  'sw_interface_set_flags',
  'sw_interface_add_del_address',
  'sw_interface_set_table',
  'sw_interface_get_table',
  'sw_interface_set_mtu',
  'sw_interface_set_unnumbered',
  'sw_interface_tag_add_del',
  'ip_address_dump',
  'create_loopback_instance',
  'delete_loopback',
  'tap_create_v3',
  'tap_delete_v2',
  'sw_interface_tap_v2_dump',
  'af_packet_create_v3',
  'af_packet_delete',
  'af_packet_dump',
  'ip_table_add_del',
  'ip_table_dump',
  'ip_route_add_del',
  'ip_route_v2_dump',
  'fib_source_dump',
  'ip_neighbor_add_del',
  'proxy_arp_add_del',
  'proxy_arp_dump',
  'proxy_arp_intfc_enable_disable',
  'add_node_next',
  'get_next_index',
  'vxlan_add_del_tunnel_v3',
  'vxlan_tunnel_v2_dump',
  'nat44_ed_plugin_enable_disable',
  'nat44_interface_add_del_feature',
  'nat44_interface_dump',
  'nat44_add_del_address_range',
  'nat44_address_dump',
  'nat44_add_del_lb_static_mapping',
  'nat44_lb_static_mapping_dump',
  'nat44_add_del_static_mapping_v2',
  'nat44_static_mapping_dump',
  'nat44_add_del_identity_mapping',
  'nat44_identity_mapping_dump',
  'acl_add_replace',
  'acl_del',
  'acl_dump',
  'acl_interface_set_acl_list',
  'acl_interface_list_dump',
] as const;

/**
 * cnat's messages, for Services from pods (descriptors/service.ts). A VPP without its feature
 * arc (v25.10 lacks `feature_cnat_enable_disable`) serves Services through NAT44-ED only: the
 * outside world, not pods. Reported at connect, not refused.
 */
export const CNAT_MESSAGES = [
  'feature_cnat_enable_disable',
  'cnat_snat_policy_add_del_if',
  'cnat_set_snat_addresses',
  'cnat_get_snat_addresses',
  'cnat_set_snat_policy',
  'cnat_translation_update',
  'cnat_translation_del',
  'cnat_translation_dump',
  // vnet's generic feature API, for cnat's session lookup alone on the uplink (snat.ts).
  'feature_enable_disable',
  'feature_is_enabled',
] as const;

/** The veth form's PodLinkPort; undefined for the TAP form. Refuses a veth form without one. */
function vethLinks(options: VppDriverOptions): PodLinkPort | undefined {
  if (options.podInterface !== 'veth') return undefined;
  if (options.podLinks === undefined)
    throw new ConfigError(
      'podLinks',
      'the veth form of pod interfaces needs a PodLinkPort to wire the veth pairs (the Linux driver’s, in VPP’s network namespace)',
    );
  return options.podLinks;
}

/** The driver over any VppApi (a connected VppClient in production and tests). */
export function vppDriverWith(api: VppApi, options: VppDriverOptions = {}): Driver {
  const links = vethLinks(options);
  const interfaces = new InterfaceCalls(api);
  const fib = new FibCalls(api);
  const vxlan = new VxlanCalls(api);
  const acl = new AclCalls(api);
  const nat = options.nat === false ? undefined : new NatCalls(api);
  // Services from pods ride on cnat, beside NAT44-ED: without NAT there are no Services.
  const cnat = nat === undefined ? undefined : new CnatCalls(api);
  // Shared by the policy and peer-set descriptors: a set's member change re-programs the ACLs.
  const policyAcls = new PolicyAcls(acl);
  const descriptors = [
    vrfDescriptor({ fib, interfaces }),
    addressDescriptor({ interfaces }),
    links !== undefined
      ? podVethDescriptor({
          interfaces,
          fib,
          afPacket: new AfPacketCalls(api),
          links,
          ...(nat === undefined ? {} : { nat, cnat }),
        })
      : podInterfaceDescriptor(nat === undefined ? { interfaces, fib } : { interfaces, fib, nat, cnat }),
    routeDescriptor({ fib, interfaces }),
    overlayDescriptor({ interfaces }),
    tunnelDescriptor(
      nat === undefined || cnat === undefined
        ? { vxlan, interfaces, fib }
        : { vxlan, interfaces, fib, cnat, nat },
    ),
    peerSetDescriptor({ acls: policyAcls }),
    policyDescriptor({
      acl,
      acls: policyAcls,
      ...(options.uplink === undefined ? {} : { uplinkAddress: options.uplink.address }),
    }),
    ...(nat === undefined
      ? []
      : [
          snatDescriptor(
            { nat, interfaces, ...(cnat === undefined ? {} : { cnat }) },
            options.uplink,
            options.vxlanPort,
          ),
          serviceDescriptor({ nat, fib, ...(cnat === undefined ? {} : { cnat }) }, options.uplink),
        ]),
  ];
  return { name: 'vpp', descriptors: descriptors };
}

export interface CreateVppDriverOptions extends VppDriverOptions {
  socketPath: string;
  /** The NIC the STN daemon lent: at every connect VPP gets it and the host its TAP (stn-host.ts). */
  stn?: StnHostSpec;
  definitions: ApiDefinitions | 'server';
  logger: Logger;
  registry?: Registry;
  /** How long to wait for VPP before returning anyway (its items then retry until it is up). */
  startTimeoutMs?: number;
  client?: Partial<Omit<VppClientOptions, 'socketPath' | 'definitions' | 'logger' | 'registry'>>;
}

/** Messages of the driver the connected VPP lacks (other CRC or plugin not loaded). */
export function missingMessages(client: Pick<VppClient, 'supports'>): string[] {
  return DRIVER_MESSAGES.filter((m) => !client.supports(m));
}

/**
 * Starts a client to VPP and returns the driver over it. The agent does not wait for VPP beyond
 * `startTimeoutMs`: until VPP answers, operations fail as retriable and the scheduler retries.
 * At every (re)connect the message set is checked and what VPP lacks is logged once.
 */
export async function createVppDriver(opts: CreateVppDriverOptions): Promise<Driver & { client: VppClient }> {
  const { logger } = opts;
  vethLinks(opts); // refused before a client is started
  const client = new VppClient({
    socketPath: opts.socketPath,
    definitions: opts.definitions,
    logger,
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...opts.client,
  });
  const stnHost = stnHostKeeper(client, opts.stn, logger);
  const restartListeners: (() => void)[] = [];
  let connectedBefore = false;
  const watching = (async (): Promise<void> => {
    for await (const s of client.status()) {
      if (s.type !== 'connected') continue;
      // A connect after the first is to a VPP that went away: it may have restarted empty.
      if (connectedBefore) for (const l of restartListeners) l();
      connectedBefore = true;
      const missing = missingMessages(client);
      if (missing.length > 0)
        logger.warn(
          { missing },
          'VPP lacks messages the vpp driver uses (other CRC or plugin not loaded); items needing them will fail',
        );
      else logger.info({ messages: s.messages }, 'connected to VPP');
      const noCnat = CNAT_MESSAGES.filter((m) => !client.supports(m));
      if (noCnat.length > 0)
        logger.warn(
          { missing: noCnat },
          'VPP lacks cnat’s feature arc: Services are served to the outside world (NAT44-ED), not to pods',
        );
      if (opts.stn) stnHost.run();
    }
  })();
  client.start();
  await client
    .ready(opts.startTimeoutMs ?? 5_000)
    .catch((err: unknown) => logger.warn({ err }, 'VPP is not answering yet; its items retry until it does'));
  const driver = vppDriverWith(client, opts);
  return {
    ...driver,
    client,
    onRestart: (listener) => void restartListeners.push(listener),
    close: async (): Promise<void> => {
      stnHost.stop();
      await client.close();
      await watching;
    },
  };
}

/**
 * Puts the STN uplink and host TAP in place after a connect, retrying every second while it
 * fails (VPP may still be bringing the NIC up); a later connect starts it again.
 */
function stnHostKeeper(
  client: VppClient,
  spec: StnHostSpec | undefined,
  logger: Logger,
): { run(): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running = false;
  const attempt = async (): Promise<void> => {
    if (spec === undefined || stopped || running) return;
    running = true;
    try {
      const r = await ensureStnHost(client, spec);
      if (r.changed.length > 0)
        logger.info(
          { uplink: r.uplink.name, changed: r.changed },
          'STN: VPP holds the NIC; the host has its TAP',
        );
    } catch (err) {
      logger.warn({ err }, 'STN: uplink or host TAP not in place yet; retrying in 1 s');
      if (!stopped) timer = setTimeout(() => void attempt(), 1_000);
    } finally {
      running = false;
    }
  };
  return {
    run: () => {
      if (timer) clearTimeout(timer);
      void attempt();
    },
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
