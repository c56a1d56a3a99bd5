// Overlay peers: a permanent neighbour (peer's next hop → its overlay MAC, `ip`) and a
// permanent FDB entry (overlay MAC → the peer's underlay IP, `bridge`). Two processes per
// change, and peers change only when nodes come and go.
import { isCondition } from '../errors.ts';
import { parseOverlayMac } from '../naming.ts';
import type { OverlayPeer, PeerPort, PeerState } from '../ports.ts';
import type { KernelTools } from '../tools.ts';

interface IpNeigh {
  dst: string;
  dev?: string;
  lladdr?: string;
}

interface BridgeFdb {
  mac: string;
  ifname?: string;
  dst?: string;
}

export class KernelPeers implements PeerPort {
  private readonly tools: KernelTools;
  private readonly hostNetns: string | undefined;

  constructor(tools: KernelTools, hostNetns: string | undefined) {
    this.tools = tools;
    this.hostNetns = hostNetns;
  }

  async set(p: OverlayPeer): Promise<void> {
    await this.tools.batch(this.hostNetns, [
      { cmd: `neigh replace ${p.nextHop} lladdr ${p.mac} dev ${p.device} nud permanent` },
    ]);
    await this.tools.batch(
      this.hostNetns,
      [{ cmd: `fdb replace ${p.mac} dev ${p.device} dst ${p.remoteIp} self permanent` }],
      {
        tool: 'bridge',
      },
    );
  }

  async remove(p: OverlayPeer): Promise<void> {
    await this.tools.batch(this.hostNetns, [
      { cmd: `neigh del ${p.nextHop} dev ${p.device}`, ok: ['missing'] },
    ]);
    await this.tools.batch(
      this.hostNetns,
      [{ cmd: `fdb del ${p.mac} dev ${p.device} self`, ok: ['missing'] }],
      { tool: 'bridge' },
    );
  }

  async list(devices: readonly string[]): Promise<PeerState> {
    const state: PeerState = { neighbours: [], fdb: [] };
    for (const device of devices) {
      try {
        const neigh = await this.tools.json<IpNeigh>(this.hostNetns, [
          'neigh',
          'show',
          'dev',
          device,
          'nud',
          'permanent',
        ]);
        for (const n of neigh) if (n.lladdr) state.neighbours.push({ device, ip: n.dst, mac: n.lladdr });
        const fdb = await this.tools.json<BridgeFdb>(
          this.hostNetns,
          ['fdb', 'show', 'dev', device],
          'bridge',
        );
        for (const f of fdb)
          if (f.dst && parseOverlayMac(f.mac)) state.fdb.push({ device, mac: f.mac, dst: f.dst });
      } catch (err) {
        if (!isCondition(err, 'missing')) throw err;
      }
    }
    return state;
  }
}
