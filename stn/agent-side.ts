// The agent's STN calls, wrapped for assembly: steal (or pick up what the daemon already holds
// for this node) at start, release at an orderly stop when asked to. One client per call: the
// agent talks to the daemon twice in its life.
import type { Logger } from '../lib/logging.ts';
import { releaseAtShutdown, stealAtStart, StnClient } from './client.ts';
import { stolenUplink, type StolenUplink } from './uplink.ts';

export interface AgentStnOptions {
  socket: string;
  /** The NIC's kernel name. */
  interfaceName: string;
  /** Bind it to vfio-pci (DPDK) after taking its configuration. */
  unbind: boolean;
  /** How long to wait for a daemon that is not answering. */
  retryForMs: number;
  logger: Logger;
}

export async function stealForAgent(opts: AgentStnOptions): Promise<StolenUplink> {
  const client = new StnClient({ socket: opts.socket });
  try {
    const config = await stealAtStart(client, opts.interfaceName, {
      unbind: opts.unbind,
      retryForMs: opts.retryForMs,
      logger: opts.logger,
    });
    const uplink = stolenUplink(config);
    opts.logger.info(
      {
        interface: uplink.name,
        mac: uplink.mac,
        pci: uplink.pciAddress,
        ip4: uplink.ip4,
        gateway4: uplink.gateway4,
      },
      'STN: the NIC is lent to the data plane',
    );
    if (uplink.notCarried.length > 0)
      opts.logger.warn(
        { notCarried: uplink.notCarried },
        'STN: recorded configuration the host interface does not get (one address and one default route per family)',
      );
    return uplink;
  } finally {
    client.close();
  }
}

/** Gives the NIC back; false when the daemon did not hold it. */
export async function releaseForAgent(
  socket: string,
  interfaceName: string,
  logger: Logger,
): Promise<boolean> {
  const client = new StnClient({ socket });
  try {
    const released = await releaseAtShutdown(client, interfaceName);
    logger.info({ interface: interfaceName, released }, 'STN: NIC given back to the kernel');
    return released;
  } finally {
    client.close();
  }
}
