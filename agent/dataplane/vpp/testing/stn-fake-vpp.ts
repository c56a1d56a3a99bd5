// Test aid for the STN lab (test/stn-agent-lab.test.ts), run as its own process because VPP is
// one: the fake VPP API server (fake/server.ts) booted with the stolen NIC as its DPDK
// interface (named after the PCI address, with the NIC's MAC, as VPP names it), plus the
// packet stand-in: once VPP holds a TAP whose host end is in VPP's own namespace, an STN rule
// sends it the node's address and the uplink is up, stn-tap-bridge.py makes that TAP real in the
// node's namespace and copies frames between it and the NIC. Killing this process kills the
// bridge (its stdin closes): the TAP vanishes and the NIC carries nothing, as when VPP dies.
//
//   node stn-fake-vpp.ts --socket <api.sock> --netns <node namespace> --nic nic0 --pci 0000:00:03.0
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ip4String, macBytes, macString } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { FakeVppServer } from '../fake/server.ts';
import { FakeVppState, IF_ADMIN_UP, IF_LINK_UP } from '../fake/state.ts';
import { loadV25Definitions } from './definitions.ts';

const BRIDGE = fileURLToPath(new URL('./stn-tap-bridge.py', import.meta.url));

function log(msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);
}

/** VPP's name for a DPDK NIC at this PCI address (format_vnet_dev… %x/%x/%x of bus/slot/function). */
export function dpdkName(pci: string): string {
  const m = /^[0-9a-f]{4}:([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i.exec(pci);
  if (!m) throw new Error(`not a PCI address: ${pci}`);
  return `GigabitEthernet${[m[1]!, m[2]!, m[3]!].map((h) => parseInt(h, 16).toString(16)).join('/')}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      socket: { type: 'string' },
      netns: { type: 'string' },
      nic: { type: 'string' },
      pci: { type: 'string' },
    },
  });
  const { socket, netns, nic, pci } = values;
  if (!socket || !netns || !nic || !pci) throw new Error('--socket, --netns, --nic and --pci are required');
  const [link] = JSON.parse(
    execFileSync('ip', ['-n', netns, '-json', 'link', 'show', 'dev', nic], { encoding: 'utf8' }),
  ) as { address: string; mtu: number }[];
  const state = new FakeVppState();
  const uplink = state.addInterface({
    name: dpdkName(pci),
    devType: 'dpdk',
    mac: macBytes(link!.address),
    mtu: [link!.mtu, 0, 0, 0],
  });
  uplink.flags = IF_LINK_UP;
  const server = await FakeVppServer.start({
    socketPath: socket,
    definitions: await loadV25Definitions(),
    state,
  });
  log('fake vpp ready', { socket, uplink: uplink.name, mac: link!.address });

  const bridges = new Map<number, ChildProcess>();
  const reconcile = (): void => {
    for (const itf of state.interfaces.values()) {
      const tap = itf.tap;
      if (tap === undefined || tap['host_namespace'] !== '' || bridges.has(itf.swIfIndex)) continue;
      const ruled = [...state.stnRules.values()].includes(itf.swIfIndex);
      if (!ruled || (uplink.flags & IF_ADMIN_UP) === 0 || (itf.flags & IF_ADMIN_UP) === 0) continue;
      const prefix = tap['host_ip4_prefix'] as VppFields | undefined;
      const args = [
        `nic=${nic}`,
        `tap=${tap['host_if_name'] as string}`,
        `mac=${macString(tap['host_mac_addr'] as Uint8Array)}`,
        `mtu=${(tap['host_mtu_size'] as number | undefined) || 1500}`,
        `ip4=${tap['host_ip4_prefix_set'] === true && prefix ? `${ip4String(prefix['address'] as Uint8Array)}/${prefix['len'] as number}` : ''}`,
        `gw4=${tap['host_ip4_gw_set'] === true ? ip4String(tap['host_ip4_gw'] as Uint8Array) : ''}`,
      ];
      const child = spawn('ip', ['netns', 'exec', netns, 'python3', BRIDGE, ...args], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) log('STN host TAP up, bridged to the NIC', { args });
      });
      child.once('exit', (code) => {
        log('bridge exited', { code });
        bridges.delete(itf.swIfIndex);
      });
      bridges.set(itf.swIfIndex, child);
    }
    for (const [sw, child] of bridges) if (!state.interfaces.has(sw)) child.kill();
  };
  const timer = setInterval(reconcile, 50);
  process.once('SIGTERM', () => {
    clearInterval(timer);
    for (const child of bridges.values()) child.kill();
    void server.stop().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  log('fake vpp failed', { err: String(err) });
  process.exit(1);
});
