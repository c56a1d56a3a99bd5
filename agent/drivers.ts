// Data plane drivers by name. Each is loaded lazily so the agent only imports the one it runs.
import { join } from 'node:path';
import { ConfigError } from '../lib/errors.ts';
import type { Logger } from '../lib/logging.ts';
import type { StnHostSpec } from './dataplane/vpp/stn-host.ts';
import type { Driver } from './scheduler/descriptor.ts';

export interface DriverContext {
  stateDir: string;
  cluster: string;
  logger: Logger;
  /** Node-side network namespace for the linux driver (unset: the agent's own). */
  netns?: string;
  /** The linux driver's processes through a pool of this many `/bin/sh` relays (unset: spawned directly). */
  processRelay?: { size: number };
  /**
   * How the linux driver wires pod veths (ADR 0019): `netlink` with its helper, `iproute2` with
   * `ip`, `auto` (the default) the helper where one is found, else `ip`.
   */
  podWiring?: 'auto' | 'iproute2' | 'netlink';
  /** The vpp driver's connection: VPP's API socket, where its .api.json live ('server': ask VPP), the uplink. */
  vpp?: {
    socketPath: string;
    apiDir: string;
    uplinkInterface: string;
    uplinkAddress: string;
    /** STN: the stolen NIC's MAC (finds the uplink without a name) and the host TAP to give the node. */
    uplinkMac?: string;
    stn?: StnHostSpec;
    /** Pod interfaces as TAPs (default) or as veths given to VPP by af_packet, wired in `netns`. */
    podInterface?: 'tap' | 'veth';
    /** The overlay's UDP port (the agent's --vxlan-port), kept untranslated on the NAT uplink. */
    vxlanPort?: number;
  };
}

type Loader = (ctx: DriverContext) => Promise<Driver>;

/** The linux driver's netlink helper, as the configuration and the machine allow. */
async function podWiring(ctx: DriverContext): Promise<{ netlink?: { command: readonly string[] } }> {
  const wanted = ctx.podWiring ?? 'auto';
  if (wanted === 'iproute2') return {};
  const { helperCommand } = await import('./dataplane/linux/netlink/locate.ts');
  const command = helperCommand();
  if (command !== undefined) return { netlink: { command } };
  if (wanted === 'netlink')
    throw new ConfigError(
      'podWiring',
      'netlink needs its helper: dist/netloom-netlink (scripts/build-netlink.ts) or Bun (the `bun` package `npm ci` installs), and neither is here',
    );
  ctx.logger.info('no netlink helper here (dist/netloom-netlink, Bun): pod veths are wired with iproute2');
  return {};
}

const DRIVERS: Record<string, Loader> = {
  /** The kernel: veths, routes, VXLAN, nftables via iproute2 and nft (agent/dataplane/linux). */
  linux: async (ctx) => {
    const { createLinuxDriver } = await import('./dataplane/linux/driver.ts');
    const netns = {
      ...(ctx.netns ? { hostNetns: ctx.netns } : {}),
      ...(await podWiring(ctx)),
    };
    if (!ctx.processRelay) return createLinuxDriver(netns);
    // The relays live as long as the driver: closed (running commands finished) with it.
    const { ProcessRelay } = await import('../lib/process-relay.ts');
    const relay = new ProcessRelay({ size: ctx.processRelay.size });
    const driver = createLinuxDriver({ ...netns, runner: relay });
    return {
      ...driver,
      close: async () => {
        await driver.close?.();
        await relay.close();
      },
    };
  },
  /** VPP through its binary API (agent/dataplane/vpp); does not wait for VPP: items retry until it answers. */
  vpp: async (ctx) => {
    const { createVppDriver } = await import('./dataplane/vpp/driver.ts');
    const { loadApiDirectory } = await import('./dataplane/vpp/api/definitions.ts');
    const vpp = ctx.vpp ?? {
      socketPath: '/run/vpp/api.sock',
      apiDir: 'server',
      uplinkInterface: '',
      uplinkAddress: '',
    };
    const podInterface = vpp.podInterface ?? 'tap';
    // The veth form wires its pairs with the Linux driver's pod links, in VPP's namespace.
    const podLinks =
      podInterface === 'veth'
        ? (await import('./dataplane/linux/driver.ts')).kernelPorts(ctx.netns ? { hostNetns: ctx.netns } : {})
            .links
        : undefined;
    return createVppDriver({
      socketPath: vpp.socketPath,
      podInterface,
      ...(vpp.vxlanPort === undefined ? {} : { vxlanPort: vpp.vxlanPort }),
      ...(podLinks ? { podLinks } : {}),
      definitions: vpp.apiDir === 'server' ? 'server' : await loadApiDirectory(vpp.apiDir),
      logger: ctx.logger,
      ...(vpp.uplinkInterface || vpp.uplinkMac
        ? {
            uplink: {
              interface: vpp.uplinkInterface,
              address: vpp.uplinkAddress,
              ...(vpp.uplinkMac ? { mac: vpp.uplinkMac } : {}),
            },
          }
        : {}),
      ...(vpp.stn ? { stn: vpp.stn } : {}),
    });
  },
  /** Items in a JSON file: for tests and dry runs; survives restarts like a real data plane. */
  fake: async (ctx) => {
    const { FakeDataPlane } = await import('./dataplane/fake/plane.ts');
    const { fakeDriver } = await import('./dataplane/fake/driver.ts');
    const plane = new FakeDataPlane({ file: join(ctx.stateDir, `fake-dataplane-${ctx.cluster}.json`) });
    plane.recordHistory = false;
    return fakeDriver(plane);
  },
};

export async function loadDriver(name: string, ctx: DriverContext): Promise<Driver> {
  const load = DRIVERS[name];
  if (!load) {
    throw new ConfigError(
      'dataplane',
      `the ${name} driver is not part of this build yet (available: ${Object.keys(DRIVERS).join(', ')})`,
    );
  }
  return load(ctx);
}
