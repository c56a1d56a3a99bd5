// A real VPP per test node (issue 18): a network namespace of its own, VPP started in it
// (cli/lab/vpp.ts), an uplink veth given to VPP with af_packet as an operator's startup
// configuration would (the driver never creates the uplink), and netloom's client connected
// with the definitions asked for. Everything is made with unique names and removed by close(),
// even after a failure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../lib/logging.ts';
import { VppClient } from '../agent/dataplane/vpp/api/client.ts';
import type { ApiDefinitions } from '../agent/dataplane/vpp/api/definitions.ts';
import { addNetns, delNetns, ipBatch } from '../cli/lab/netns.ts';
import { KvScheduler } from '../agent/scheduler/scheduler.ts';
import { kernelPorts } from '../agent/dataplane/linux/driver.ts';
import { vppDriverWith } from '../agent/dataplane/vpp/driver.ts';
import type { Uplink } from '../agent/dataplane/vpp/descriptors/snat.ts';
import type { VppApi } from '../agent/dataplane/vpp/vpp-api.ts';
import { findVpp, VppInstance, type VppBuild } from '../cli/lab/vpp.ts';

export interface RealVppNode {
  name: string;
  netns: string;
  vpp: VppInstance;
  client: VppClient;
  /** VPP's name for the uplink and its address (the driver's Uplink). */
  uplink: { interface: string; address: string };
  /** kill -9 and start again (empty, its uplink configured again); resolves once reconnected. */
  restartVpp(): Promise<void>;
  close(): Promise<void>;
}

let counter = 0;
/** A short unique prefix for this run's names (interface names are at most 15 bytes). */
export const runTag = `${process.pid.toString(36).slice(-3)}${Date.now().toString(36).slice(-3)}`;

export function vppBuild(): VppBuild {
  const found = findVpp();
  if (!found.ok) throw new Error(found.reason);
  return found.build;
}

/** The nodes' underlay: a namespace of its own holding a bridge every node's uplink joins. */
export interface Underlay {
  netns: string;
  close(): Promise<void>;
}

export async function startUnderlay(): Promise<Underlay> {
  const netns = `nvu${runTag}${counter++}`;
  await addNetns(netns);
  await ipBatch(netns, ['link add br0 type bridge', 'link set br0 up']);
  return { netns, close: () => delNetns(netns) };
}

/**
 * One node: netns `nv<tag><i>`, VPP inside, uplink `up0` (VPP: host-up0) with `address/24`,
 * its veth peer on the underlay's bridge.
 */
export async function startRealVppNode(opts: {
  definitions: ApiDefinitions;
  address: string;
  underlay: Underlay;
  build?: VppBuild;
}): Promise<RealVppNode> {
  const build = opts.build ?? vppBuild();
  const i = counter++;
  const name = `nv${runTag}${i}`;
  const dir = mkdtempSync(join(tmpdir(), `netloom-vpp-${name}-`));
  const underlay = `u${i}`;
  await addNetns(name);
  const vpp = new VppInstance({ build, dir, netns: name, prefix: `nl${name}` });
  let client: VppClient | undefined;
  const close = async (): Promise<void> => {
    await client?.close().catch(() => undefined);
    await vpp.stop().catch(() => undefined);
    await delNetns(name).catch(() => undefined); // its veth pair goes with it
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // up0 in the node; its peer on the underlay's bridge.
    await ipBatch(opts.underlay.netns, [
      `link add ${underlay} type veth peer name up0 netns ${name}`,
      `link set ${underlay} master br0 up`,
    ]);
    await ipBatch(name, ['link set up0 up']);
    await vpp.start();
    await configureUplink(vpp, opts.address);
    client = await VppClient.connect({
      socketPath: vpp.paths.apiSocket,
      definitions: opts.definitions,
      logger: silentLogger(),
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      liveness: false,
    });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    name,
    netns: name,
    vpp,
    client,
    uplink: { interface: 'host-up0', address: opts.address },
    async restartVpp(): Promise<void> {
      const again = reconnected(client);
      await vpp.kill();
      await vpp.start();
      await configureUplink(vpp, opts.address);
      await again;
    },
    close,
  };
}

/** What a node's startup.conf or its operator does: the uplink in VPP, up, with its address. */
async function configureUplink(vpp: VppInstance, address: string): Promise<void> {
  await vpp.vppctl('create', 'host-interface', 'name', 'up0');
  await vpp.vppctl('set', 'interface', 'state', 'host-up0', 'up');
  await vpp.vppctl('set', 'interface', 'ip', 'address', 'host-up0', `${address}/24`);
}

/**
 * A KV scheduler over the vpp driver's veth form, as an agent on a node without vhost-net runs
 * it: pod links wired by the Linux driver in `hostNetns`, VPP's namespace. A new one is an
 * agent restart.
 */
export function vethScheduler(api: VppApi, uplink: Uplink, hostNetns: string): KvScheduler {
  return new KvScheduler({
    driver: vppDriverWith(api, { uplink, podInterface: 'veth', podLinks: kernelPorts({ hostNetns }).links }),
    logger: silentLogger(),
    retry: { auto: false },
  });
}

/** Waits until the client reports `connected` again (after VPP restarted). */
export async function reconnected(client: VppClient, timeoutMs = 20_000): Promise<void> {
  const it = client.status()[Symbol.asyncIterator]();
  const timer = setTimeout(() => void it.return?.(), timeoutMs);
  try {
    for (;;) {
      const s = await it.next();
      if (s.done === true) throw new Error(`VPP client not reconnected after ${timeoutMs} ms`);
      if (s.value.type === 'connected') return;
    }
  } finally {
    clearTimeout(timer);
    await it.return?.();
  }
}
