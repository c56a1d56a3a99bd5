// The one place a node's agent is built: `netloom agent`, the lab, the tests and the benchmarks
// all call assembleAgent, so what they run is what users run. Start order matters — the driver
// first (a data plane that cannot load fails before the node claims anything), then the node's
// identity (ID claim, nodes/info as the one-agent-per-node lock) before IPAM (its subnet comes
// from the ID), IPAM before the attachment records are trusted (a lost or torn attachments file
// is rebuilt from the node's IPAM records), the pipeline before the first resync, which reads
// the data plane back so a restart changes only what differs.
import { existsSync } from 'node:fs';
import { sizeOf } from '../lib/cidr.ts';
import { ConfigError } from '../lib/errors.ts';
import type { Logger } from '../lib/logging.ts';
import { Gauge, type Registry } from '../lib/metrics.ts';
import type { Store } from '../lib/etcd/store.ts';
import { Keyspace } from '../lib/keyspace.ts';
import { stealForAgent } from '../stn/agent-side.ts';
import type { StolenUplink } from '../stn/uplink.ts';
import { Agent } from './agent.ts';
import { rebuildAttachments, type IpamRecordLike } from './attachments/rebuild.ts';
import { AttachmentStore } from './attachments/store.ts';
import { DEFAULT_CNI_SOCKET } from './cni-server/server.ts';
import { VHOST_NET, vppPodInterfaceForm, type AgentConfig } from './config.ts';
import { loadDriver, type DriverContext } from './drivers.ts';
import { decodeEntry, PodIpam } from './ipam/allocator.ts';
import { NodeIpam } from './ipam/node-ipam.ts';
import { AttachmentPublisher } from './attachments/publisher.ts';
import { podInterfaceKey } from './items/keys.ts';
import { AddressPlan } from './ipam/plan.ts';
import { NodeIdentity } from './nodeid/identity.ts';
import { acquirePidLock } from './nodeid/pid-lock.ts';
import { Pipeline } from './pipeline/pipeline.ts';
import type { NodeContext } from './renderers/context.ts';
import type { Driver } from './scheduler/descriptor.ts';
import { KvScheduler } from './scheduler/scheduler.ts';
import { planOf } from './mesh/plan.ts';
import { registerCluster } from './mesh/registry.ts';
import { MeshSync } from './mesh/sync.ts';
import { PeerAudit } from './view/peer-audit.ts';
import { ClusterView } from './view/view.ts';

export interface AgentDeps {
  store: Store;
  logger: Logger;
  registry: Registry;
  /** A driver built by the caller instead of the configured one (a benchmark's counting runner). */
  driver?: Driver;
}

/**
 * Builds, starts and returns a node's agent; it serves CNI once the node is ready. With `stn`,
 * the NIC is stolen before the driver starts (the driver gives it to VPP); `managementIp` ''
 * then means the NIC's recorded address. A failed start does not give the NIC back: VPP may be
 * forwarding on it, and the daemon's watchdog returns it if VPP is not.
 */
export async function assembleAgent(
  config: AgentConfig,
  managementIp: string,
  deps: AgentDeps,
): Promise<Agent> {
  const { store, logger, registry } = deps;
  const keyspace = new Keyspace(config.cluster);
  // On VPP the last host of each node's block is the node's Service masquerade address
  // (dataplane/vpp/naming.ts serviceMasqueradeAddress): no pod gets it.
  const plan = new AddressPlan(
    config.dataplane === 'vpp'
      ? { ...config, reservedOffsets: [...config.reservedOffsets, sizeOf(config.nodePrefixLength) - 2] }
      : config,
  );
  checkStnConfig(config);
  const lock = acquirePidLock(config.stateDir);
  let driver: Driver | undefined;
  let identity: NodeIdentity | undefined;
  try {
    // The store-wide registry first (agent/mesh/): a plan that contradicts the cluster's, or one
    // whose ranges overlap another cluster's with --mesh, stops the agent before it claims anything.
    const clusterPlan = planOf(config);
    await registerCluster(store, config.cluster, clusterPlan, logger.child({ part: 'mesh' }));
    const stolen = config.stn
      ? await stealForAgent({
          socket: config.stnSocket,
          interfaceName: config.stnInterface,
          unbind: config.stnUnbind,
          retryForMs: config.stnRetryMs,
          logger: logger.child({ part: 'stn' }),
        })
      : undefined;
    if (managementIp === '') managementIp = stolen?.ip4.split('/')[0] ?? '';
    if (managementIp === '') throw new ConfigError('managementIp', 'empty (and no STN NIC to take it from)');
    driver = deps.driver ?? (await loadDriver(config.dataplane, driverContext(config, logger, stolen)));
    const ipamRef: { current?: PodIpam } = {};
    const tunnelEndpoint = config.tunnelEndpoint ?? managementIp;
    identity = await NodeIdentity.start({
      store,
      keyspace,
      node: config.nodeName,
      stateDir: config.stateDir,
      plan,
      managementIp,
      tunnelEndpoint,
      leaseTtlSeconds: config.leaseTtlSeconds,
      checkMs: config.identityCheckMs,
      settleMs: config.idSettleMs,
      ownerWaitMs: config.ownerWaitMs,
      logger: logger.child({ part: 'identity' }),
      // An etcd restored from an older backup lost this node's IPAM records: write them back.
      onRestored: async () => void (await ipamRef.current?.reassert()),
      // Another cluster holding this node's ID store-wide only matters when overlays meet.
      foreignIds: config.mesh ? 'refuse' : 'warn',
    });
    const ipam = new PodIpam({
      store,
      keyspace,
      node: config.nodeName,
      subnet: identity.subnet,
      logger: logger.child({ part: 'ipam' }),
    });
    ipamRef.current = ipam;
    await ipam.load();
    const attachments = await loadAttachments(config, ipam, logger, async () =>
      (await store.list(keyspace.prefix('ipam', config.nodeName))).kvs.flatMap((kv) => {
        const ref = keyspace.tryParse(kv.key);
        return ref?.kind === 'ipam' ? [{ ip: ref.ip, entry: decodeEntry(kv.value) }] : [];
      }),
    );

    const scheduler = new KvScheduler({
      driver,
      logger: logger.child({ part: 'scheduler' }),
      registry,
      retry: { auto: config.autoRetry },
    });
    const ctx: NodeContext = {
      node: config.nodeName,
      id: identity.id,
      podSubnet: identity.subnet.cidr,
      gateway: identity.subnet.gateway,
      podPrefixLength: config.nodePrefixLength,
      podCidr: config.podCidr,
      serviceCidr: config.serviceCidr,
      tunnelEndpoint,
      vni: config.vxlanVni,
      vxlanPort: config.vxlanPort,
      mtu: config.mtu,
    };
    const view = new ClusterView();
    const subnetOf = (id: number): string | undefined =>
      id >= 1 && id <= plan.maxNodeId ? plan.forNode(id).cidr : undefined;
    const pipeline = new Pipeline({
      ctx,
      view,
      scheduler,
      attachments: attachments.all(),
      subnetOf,
      gatewayOffset: config.gatewayOffset,
      logger,
    });
    const nodeIpam = new NodeIpam({
      defaults: ipam,
      allocatorFor: (net) =>
        new PodIpam({
          store,
          keyspace,
          node: config.nodeName,
          subnet: net.block,
          network: net.name,
          logger: logger.child({ part: 'ipam', network: net.name }),
        }),
      network: (name) => pipeline.network(name),
      logger: logger.child({ part: 'ipam' }),
    });
    const publisher = new AttachmentPublisher({
      store,
      keyspace,
      node: config.nodeName,
      attachments: () => attachments.all(),
      macOf: (a) => {
        const meta = scheduler.applied(podInterfaceKey(a.namespace, a.pod, a.ifname))?.metadata as
          { mac?: unknown } | undefined;
        return typeof meta?.mac === 'string' ? meta.mac : '';
      },
      logger: logger.child({ part: 'attachments' }),
    });
    new Gauge({ name: 'netloom_agent_node_id', help: "This node's ID", registers: [registry] }).set(
      identity.id,
    );
    const agent = new Agent({
      config,
      store,
      logger,
      registry,
      keyspace,
      ctx,
      identity,
      ipam,
      nodeIpam,
      publisher,
      driver,
      ownsDriver: deps.driver === undefined,
      scheduler,
      pipeline,
      view,
      peerAudit: new PeerAudit({ view, self: config.nodeName, subnetOf, logger, registry }),
      attachments,
      lock,
      ...(config.mesh
        ? {
            mesh: new MeshSync({
              store,
              cluster: config.cluster,
              plan: clusterPlan,
              ctx,
              apply: (source, items, description) => pipeline.setExtra(source, items, description),
              logger: logger.child({ part: 'mesh' }),
            }),
          }
        : {}),
    });
    agent.run();
    // No CNI socket for the fake data plane unless asked: it wires nothing real.
    const socketPath = config.cniSocket ?? (config.dataplane === 'fake' ? '' : DEFAULT_CNI_SOCKET);
    if (socketPath !== '') await agent.serveCni(socketPath);
    return agent;
  } catch (err) {
    await identity?.close();
    if (!deps.driver) await driver?.close?.();
    lock.release();
    throw err;
  }
}

function checkStnConfig(config: AgentConfig): void {
  if (!config.stn) return;
  if (config.dataplane !== 'vpp')
    throw new ConfigError(
      'stn',
      `needs --dataplane vpp (the ${config.dataplane} data plane uses the kernel's NIC)`,
    );
  if (config.stnInterface === '')
    throw new ConfigError('stnInterface', 'the NIC to steal must be named with --stn');
}

function driverContext(config: AgentConfig, logger: Logger, stolen: StolenUplink | undefined): DriverContext {
  const podInterface = vppPodInterfaceForm(config.vppPodInterface, existsSync);
  if (config.dataplane === 'vpp')
    logger.info(
      { vppPodInterface: config.vppPodInterface, podInterface, vhostNet: existsSync(VHOST_NET) },
      podInterface === 'veth'
        ? 'vpp pod interfaces: veth pairs, VPP’s end by af_packet'
        : 'vpp pod interfaces: TAPs (tap_create_v3)',
    );
  return {
    stateDir: config.stateDir,
    cluster: config.cluster,
    logger,
    ...(config.linuxNetns ? { netns: config.linuxNetns } : {}),
    ...(config.processRelay ? { processRelay: { size: config.processRelaySize } } : {}),
    podWiring: config.podWiring,
    vpp: {
      socketPath: config.vppSocket,
      apiDir: config.vppApiDir,
      uplinkInterface: config.vppUplinkInterface,
      // With STN the uplink is the stolen NIC: its address unless one is given, found by MAC
      // unless a VPP interface name is given.
      uplinkAddress: config.vppUplinkAddress || (stolen?.ip4.split('/')[0] ?? ''),
      podInterface,
      vxlanPort: config.vxlanPort,
      ...(stolen
        ? {
            uplinkMac: stolen.mac,
            stn: {
              nicMac: stolen.mac,
              ip4: stolen.ip4,
              gateway4: stolen.gateway4,
              mtu: stolen.mtu,
              hostIfName: config.stnHostInterface,
            },
          }
        : {}),
    },
  };
}

/**
 * The node's attachment records, made whole: an unusable file is rebuilt from the node's IPAM
 * records (which carry everything an attachment holds), and records IPAM lost (an etcd
 * restored from an older backup) are written back from the attachments.
 */
async function loadAttachments(
  config: AgentConfig,
  ipam: PodIpam,
  logger: Logger,
  allRecords: () => Promise<IpamRecordLike[]>,
): Promise<AttachmentStore> {
  const attachments = new AttachmentStore(config.stateDir, config.cluster);
  if (attachments.dropped > 0)
    logger.warn(
      { file: attachments.path, dropped: attachments.dropped },
      'malformed attachment records dropped',
    );
  if (attachments.damaged !== '') {
    // Every network's records of the node, not only the default allocator's.
    const { rebuilt, skipped } = rebuildAttachments(await allRecords());
    await attachments.replaceAll(rebuilt);
    logger.warn(
      { file: attachments.path, why: attachments.damaged, rebuilt: rebuilt.length, skipped },
      'attachments file unusable (set aside); rebuilt from IPAM records',
    );
  }
  const adopted = ipam.adopt(
    attachments.all().map((a) => ({
      ip: a.ip,
      entry: {
        namespace: a.namespace,
        pod: a.pod,
        containerId: a.containerId,
        ifname: a.ifname,
        network: a.network,
        netns: a.netns,
        extra: a.extra === true,
        mac: a.mac ?? '',
      },
    })),
  );
  if (adopted > 0)
    logger.warn(
      { adopted, rewritten: await ipam.reassert() },
      'IPAM records missing from etcd were written back',
    );
  return attachments;
}
