// The driver table: every name the config accepts loads a driver with its item families.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logging.ts';
import { loadDriver } from './drivers.ts';
import { fakeLab } from './dataplane/vpp/testing/fake.ts';
import { V25_10_DIR } from './dataplane/vpp/testing/definitions.ts';
import { agentConfigSchema } from './config.ts';

describe('loadDriver', () => {
  it('loads the vpp driver against a VPP API socket, with definitions from a directory', async () => {
    const lab = await fakeLab();
    await lab.start();
    const driver = await loadDriver('vpp', {
      stateDir: '/nonexistent',
      cluster: 'c',
      logger: silentLogger(),
      vpp: {
        socketPath: lab.socketPath,
        apiDir: V25_10_DIR,
        uplinkInterface: 'GigabitEthernet0/8/0',
        uplinkAddress: '192.168.0.1',
      },
    });
    try {
      expect(driver.name).toBe('vpp');
      expect(driver.descriptors.map((d) => d.name)).toEqual(
        expect.arrayContaining(['pod-interface', 'route', 'tunnel']),
      );
    } finally {
      await driver.close?.();
      await lab.cleanup();
    }
  });

  it('runs the linux driver through spawn relays unless --process-relay=false', async () => {
    expect(agentConfigSchema.parse({}).processRelay).toBe(true);
    expect(agentConfigSchema.parse({}).processRelaySize).toBe(4);
    expect(agentConfigSchema.parse({ processRelay: 'false' }).processRelay).toBe(false);
    const driver = await loadDriver('linux', {
      stateDir: '/nonexistent',
      cluster: 'c',
      logger: silentLogger(),
      processRelay: { size: 1 },
    });
    expect(driver.name).toBe('linux');
    await driver.close?.(); // the relays closed with the driver (none started yet)
  });

  it('knows every data plane the configuration offers', () => {
    const offered = agentConfigSchema.shape.dataplane.unwrap().options;
    expect([...offered].sort()).toEqual(['fake', 'linux', 'vpp']);
  });
});
