// A fake VPP with an uplink NIC, a connected client, and a KV scheduler over the vpp driver:
// what the driver tests need, with restart helpers (agent restart, VPP restart).
import { silentLogger } from '../../../../lib/logging.ts';
import { KvScheduler } from '../../../scheduler/scheduler.ts';
import { VppClient } from '../api/client.ts';
import type { FakeVppOptions, FakeVppServer } from '../fake/server.ts';
import { FakeVppState } from '../fake/state.ts';
import { vppDriverWith, type VppDriverOptions } from '../driver.ts';
import type { VppApi } from '../vpp-api.ts';
import type { Uplink } from '../descriptors/snat.ts';
import { loadDriverDefinitions } from './definitions.ts';
import { fakeLab, type FakeLab } from './fake.ts';

export const UPLINK: Uplink = { interface: 'GigabitEthernet0/8/0', address: '192.168.0.1' };

/** A VPP as it boots: its NIC configured (startup.conf), nothing else. */
export function bootedState(): FakeVppState {
  const s = new FakeVppState();
  const nic = s.addInterface({
    name: UPLINK.interface,
    devType: 'dpdk',
    mac: Uint8Array.of(0x52, 0x54, 0, 0, 0, 1),
    mtu: [9000, 0, 0, 0],
  });
  nic.flags = 3;
  s.addAddress(nic, { address: { af: 0, un: { ip4: Uint8Array.of(192, 168, 0, 1) } }, len: 24 });
  return s;
}

export interface DriverLab {
  fake: FakeVppServer;
  /** Names of the requests and dumps every driver of the lab sent, in order (tests may clear it). */
  requests: string[];
  client: VppClient;
  scheduler: KvScheduler;
  lab: FakeLab;
  /** A fresh scheduler and driver over the same VPP (an agent restart). */
  restartAgent(): KvScheduler;
  /** VPP dies and comes back empty; resolves once the client has reconnected. */
  restartVpp(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `options` go to every driver of the lab besides the uplink (the veth form and its links);
 * `vpp` to every fake VPP it starts (messages it lacks, say).
 */
export async function driverLab(
  options: VppDriverOptions = {},
  vpp: Partial<Omit<FakeVppOptions, 'socketPath' | 'definitions' | 'state'>> = {},
): Promise<DriverLab> {
  const lab = await fakeLab();
  let fake = await lab.start({ ...vpp, state: bootedState() });
  const client = await VppClient.connect({
    socketPath: lab.socketPath,
    definitions: await loadDriverDefinitions(),
    logger: silentLogger(),
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    liveness: false,
  });
  const requests: string[] = [];
  const recorded: VppApi = {
    request(name, fields) {
      requests.push(name);
      return client.request(name, fields);
    },
    dump(name, fields) {
      requests.push(name);
      return client.dump(name, fields);
    },
    supports: (name) => client.supports(name),
  };
  const newScheduler = (): KvScheduler =>
    new KvScheduler({
      driver: vppDriverWith(recorded, { uplink: UPLINK, ...options }),
      logger: silentLogger(),
      retry: { auto: false },
    });
  const self: DriverLab = {
    fake,
    requests,
    client,
    lab,
    scheduler: newScheduler(),
    restartAgent: newScheduler,
    async restartVpp(): Promise<void> {
      const status = client.status()[Symbol.asyncIterator]();
      await fake.stop();
      fake = await lab.start({ ...vpp, state: bootedState() });
      self.fake = fake;
      for (;;) {
        const s = await status.next();
        if (s.done === true || s.value.type === 'connected') break;
      }
      await status.return?.();
    },
    async close(): Promise<void> {
      await client.close();
      await lab.cleanup();
    },
  };
  return self;
}
