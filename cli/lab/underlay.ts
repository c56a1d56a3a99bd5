// The simulated machines: one namespace per node, joined by a bridge that lives in its own
// namespace (the "switch"). Idempotent: an existing node namespace is kept as it is (its agent's
// data plane lives there), only missing parts are added.
import { VPP_UPLINK_LINK, type LabLayout, type NodeLayout } from './layout.ts';
import { addNetns, ipBatch, links, listNetns } from './netns.ts';
import { runOk } from './exec.ts';

async function ensureBridge(layout: LabLayout, existing: string[]): Promise<void> {
  const ns = layout.underlayNetns;
  if (!existing.includes(ns)) await addNetns(ns);
  const have = await links(ns);
  if (have.some((l) => l.ifname === layout.bridge)) return;
  await ipBatch(ns, [
    `link add ${layout.bridge} type bridge`,
    `address add ${layout.bridgeAddress} dev ${layout.bridge}`,
    `link set ${layout.bridge} up`,
  ]);
}

async function ensureNode(layout: LabLayout, node: NodeLayout, existing: string[]): Promise<void> {
  if (!existing.includes(node.netns)) {
    await addNetns(node.netns);
  }
  const inNode = await links(node.netns);
  const eth0 = inNode.find((l) => l.ifname === 'eth0');
  const ok = eth0?.addr_info?.some((a) => a.family === 'inet' && a.local === node.ip);
  if (!ok) {
    // A half-made pair (crash during setup) is removed and made again.
    if (eth0) await ipBatch(node.netns, ['link del eth0']);
    const ports = await links(layout.underlayNetns);
    if (ports.some((l) => l.ifname === node.underlayPort))
      await ipBatch(layout.underlayNetns, [`link del ${node.underlayPort}`]);
    await ipBatch(layout.underlayNetns, [
      `link add ${node.underlayPort} type veth peer name eth0 netns ${node.netns}`,
      `link set ${node.underlayPort} master ${layout.bridge}`,
      `link set ${node.underlayPort} up`,
    ]);
    await ipBatch(node.netns, [`address add ${node.ip}/24 dev eth0`, 'link set eth0 up']);
  }
  // A node routes for its pods, as every Kubernetes node does (a new namespace starts with 0).
  await runOk('ip', [
    'netns',
    'exec',
    node.netns,
    'sh',
    '-c',
    'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding',
  ]);
}

/**
 * A VPP node's second port on the underlay: `vpp0` in the node, its peer on the bridge. VPP takes
 * it by af_packet (its startup configuration) and holds the address; the kernel's eth0 keeps
 * the node's own, so the node's processes and VPP do not answer ARP for one address twice.
 */
async function ensureVppUplink(layout: LabLayout, node: NodeLayout): Promise<void> {
  if ((await links(node.netns)).some((l) => l.ifname === VPP_UPLINK_LINK)) return;
  const port = `${node.underlayPort}v`;
  if ((await links(layout.underlayNetns)).some((l) => l.ifname === port))
    await ipBatch(layout.underlayNetns, [`link del ${port}`]);
  await ipBatch(layout.underlayNetns, [
    `link add ${port} type veth peer name ${VPP_UPLINK_LINK} netns ${node.netns}`,
    `link set ${port} master ${layout.bridge}`,
    `link set ${port} up`,
  ]);
  await ipBatch(node.netns, [`link set ${VPP_UPLINK_LINK} up`]);
}

/**
 * Creates (or completes) the underlay and every node namespace. `lbPool`, the LoadBalancer
 * addresses, is routed to the first node: the outside world reaches them through a node, as
 * through a router in front of a real cluster (no address announcement in the lab).
 */
export async function ensureUnderlay(
  layout: LabLayout,
  lbPool?: string,
  opts: { vppUplinks?: boolean } = {},
): Promise<void> {
  const existing = await listNetns();
  await ensureBridge(layout, existing);
  for (const node of layout.nodes) {
    await ensureNode(layout, node, existing);
    if (opts.vppUplinks === true) await ensureVppUplink(layout, node);
  }
  const first = layout.nodes[0];
  if (lbPool && first) await ipBatch(layout.underlayNetns, [`route replace ${lbPool} via ${first.ip}`]);
}
