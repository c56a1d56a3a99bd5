// The STN flow on VPP against the fake VPP server: createVppDriver with `stn` puts the NIC's
// address on VPP's interface for it (found by MAC, whatever VPP called it), gives the host a TAP
// with the NIC's MAC, address and gateway, and adds the STN rule; a second run changes nothing;
// a VPP that restarts empty gets it all again; source NAT finds the uplink by MAC.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/logging.ts';
import { sleep } from '../../../lib/timing.ts';
import { snatKey } from '../../items/keys.ts';
import { KvScheduler } from '../../scheduler/scheduler.ts';
import { VppClient } from './api/client.ts';
import { createVppDriver } from './driver.ts';
import { macBytes } from './addresses.ts';
import { FakeVppState, IF_ADMIN_UP } from './fake/state.ts';
import type { FakeVppServer } from './fake/server.ts';
import { ensureStnHost, STN_HOST_TAG, type StnHostSpec } from './stn-host.ts';
import { loadDriverDefinitions, loadV25Definitions } from './testing/definitions.ts';
import { fakeLab } from './testing/fake.ts';

const NIC_MAC = '52:54:00:12:34:56';
const SPEC: StnHostSpec = {
  nicMac: NIC_MAC,
  ip4: '10.250.0.2/24',
  gateway4: '10.250.0.1',
  mtu: 1500,
  hostIfName: 'vpp-host',
};

/** A VPP as it boots on an STN node: the NIC as a DPDK interface, down, no address. */
function stnBooted(): FakeVppState {
  const s = new FakeVppState();
  s.addInterface({
    name: 'GigabitEthernet0/3/0',
    devType: 'dpdk',
    mac: macBytes(NIC_MAC),
    mtu: [1500, 0, 0, 0],
  });
  return s;
}

async function until(what: string, ok: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`no ${what} after ${timeoutMs} ms`);
    await sleep(10);
  }
}

function stnView(server: FakeVppServer) {
  const itfs = [...server.state.interfaces.values()];
  const nic = itfs.find((i) => i.name === 'GigabitEthernet0/3/0')!;
  const tap = itfs.find((i) => i.tag === STN_HOST_TAG);
  return {
    nicUp: (nic.flags & IF_ADMIN_UP) !== 0,
    nicAddresses: nic.addresses.length,
    tap: tap && {
      up: (tap.flags & IF_ADMIN_UP) !== 0,
      hostIfName: tap.tap?.['host_if_name'],
      hostNamespace: tap.tap?.['host_namespace'],
      hostMac: Array.from(tap.tap?.['host_mac_addr'] as Uint8Array, (b) =>
        b.toString(16).padStart(2, '0'),
      ).join(':'),
      hostIp4: tap.tap?.['host_ip4_prefix'],
      hostGw: Array.from(tap.tap?.['host_ip4_gw'] as Uint8Array).join('.'),
    },
    rules: [...server.state.stnRules].map(([a, sw]) => [a, sw === tap?.swIfIndex ? 'tap' : sw]),
  };
}

describe('STN host side on VPP', () => {
  it('at connect: NIC up with the address, host TAP with the NIC MAC/address/gateway, STN rule; again after a VPP restart', async () => {
    const lab = await fakeLab();
    let server = await lab.start({ state: stnBooted() });
    const driver = await createVppDriver({
      socketPath: lab.socketPath,
      definitions: await loadV25Definitions(),
      logger: silentLogger(),
      uplink: { interface: '', address: '10.250.0.2', mac: NIC_MAC },
      stn: SPEC,
      client: { reconnect: { initialDelayMs: 10, maxDelayMs: 30 }, liveness: false },
    });
    try {
      await until('STN rule', () => server.state.stnRules.size > 0 && stnView(server).tap?.up === true);
      const want = {
        nicUp: true,
        nicAddresses: 1,
        tap: {
          up: true,
          hostIfName: 'vpp-host',
          hostNamespace: '',
          hostMac: NIC_MAC,
          hostIp4: { address: Uint8Array.of(10, 250, 0, 2), len: 24 },
          hostGw: '10.250.0.1',
        },
        rules: [['10.250.0.2', 'tap']],
      };
      expect(stnView(server)).toEqual(want);

      // Source NAT finds the uplink by MAC (no interface name was given).
      const s = new KvScheduler({ driver, logger: silentLogger(), retry: { auto: false } });
      await s.commit([
        {
          key: snatKey(0, '10.1.1.0/24'),
          value: { vrf: 0, source: '10.1.1.0/24', except: [], toAddress: '' },
        },
      ]);
      expect(s.status(snatKey(0, '10.1.1.0/24'))?.state).toBe('configured');
      const nicIndex = [...server.state.interfaces.values()].find((i) => i.devType === 'dpdk')!.swIfIndex;
      expect(server.state.nat.interfaces.has(nicIndex)).toBe(true);

      // VPP restarts empty: the next connect puts everything back.
      await server.stop();
      server = await lab.start({ state: stnBooted() });
      await until(
        'STN rule after restart',
        () => server.state.stnRules.size > 0 && stnView(server).tap?.up === true,
      );
      expect(stnView(server)).toEqual(want);
    } finally {
      await driver.close?.();
      await lab.cleanup();
    }
  });

  it("with cnat's feature arc, the TAP gets cnat's session lookup, once", async () => {
    const lab = await fakeLab();
    const server = await lab.start({ state: stnBooted() });
    const client = await VppClient.connect({
      socketPath: lab.socketPath,
      definitions: await loadDriverDefinitions(),
      logger: silentLogger(),
      liveness: false,
    });
    try {
      const first = await ensureStnHost(client, SPEC);
      expect(first.changed).toContain('TAP vpp-host cnat session lookup');
      expect(server.state.features.get(first.tapSwIfIndex)).toEqual(['ip4-unicast cnat-lookup-ip4']);
      expect((await ensureStnHost(client, SPEC)).changed).toEqual([]);
      expect(server.state.features.get(first.tapSwIfIndex)).toEqual(['ip4-unicast cnat-lookup-ip4']);
    } finally {
      await client.close();
      await lab.cleanup();
    }
  });

  it('changes nothing when everything is in place; waits (retriable) for a VPP without the NIC', async () => {
    const lab = await fakeLab();
    const server = await lab.start({ state: stnBooted() });
    const client = await VppClient.connect({
      socketPath: lab.socketPath,
      definitions: await loadV25Definitions(),
      logger: silentLogger(),
      liveness: false,
    });
    try {
      const first = await ensureStnHost(client, SPEC);
      expect(first.changed).toEqual([
        'GigabitEthernet0/3/0 up',
        'GigabitEthernet0/3/0 address 10.250.0.2/24',
        'TAP vpp-host (host end) with 10.250.0.2/24',
        'TAP vpp-host up',
        'STN rule 10.250.0.2 → TAP',
      ]);
      const interfaces = server.state.interfaces.size;
      expect((await ensureStnHost(client, SPEC)).changed).toEqual([]);
      expect(server.state.interfaces.size).toBe(interfaces);
      await expect(ensureStnHost(client, { ...SPEC, nicMac: '52:54:00:00:00:99' })).rejects.toMatchObject({
        retriable: true,
        message: expect.stringMatching(/no interface with the stolen NIC's MAC 52:54:00:00:00:99/),
      });
    } finally {
      await client.close();
      await lab.cleanup();
    }
  });
});
