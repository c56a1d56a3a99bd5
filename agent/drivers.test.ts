// The driver table: every name the config accepts loads a driver with its item families.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logging.ts';
import { loadDriver } from './drivers.ts';
import { fakeLab } from './dataplane/vpp/testing/fake.ts';
import { V25_10_DIR } from './dataplane/vpp/testing/definitions.ts';
import { agentConfigSchema, vppPodInterfaceForm } from './config.ts';
import { podItems } from './dataplane/linux/test-items.ts';
import type { PodInterface } from './items/values.ts';

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

  it('loads the vpp driver with the veth form of pod interfaces when asked (routes a TAP cannot carry)', async () => {
    const lab = await fakeLab();
    await lab.start();
    const [eth0] = podItems(
      { name: 'n1', id: 1, underlayIp: '192.168.0.1' },
      {
        namespace: 'default',
        name: 'p1',
        containerId: 'c1',
        netns: '/run/netns/p1',
        ip: '10.1.1.11',
        hostIfName: 'nlp1',
      },
    );
    const value: PodInterface = { ...(eth0!.value as PodInterface), routes: ['10.20.0.0/16'] };
    const validate = async (podInterface: 'tap' | 'veth'): Promise<void> => {
      const driver = await loadDriver('vpp', {
        stateDir: '/nonexistent',
        cluster: 'c',
        logger: silentLogger(),
        vpp: {
          socketPath: lab.socketPath,
          apiDir: V25_10_DIR,
          uplinkInterface: '',
          uplinkAddress: '',
          podInterface,
        },
      });
      try {
        driver.descriptors.find((d) => d.name === 'pod-interface')!.validate?.(eth0!.key, value);
      } finally {
        await driver.close?.();
      }
    };
    try {
      await expect(validate('tap')).rejects.toThrow(/tap_create_v3/);
      await expect(validate('veth')).resolves.toBeUndefined();
    } finally {
      await lab.cleanup();
    }
  });
});

describe('vppPodInterface', () => {
  it('is auto by default: veth where /dev/vhost-net is missing, tap where it exists; a choice is kept', () => {
    expect(agentConfigSchema.parse({}).vppPodInterface).toBe('auto');
    expect(vppPodInterfaceForm('auto', () => false)).toBe('veth');
    expect(vppPodInterfaceForm('auto', (p) => p === '/dev/vhost-net')).toBe('tap');
    expect(vppPodInterfaceForm('tap', () => false)).toBe('tap');
    expect(vppPodInterfaceForm('veth', () => true)).toBe('veth');
    expect(() => agentConfigSchema.parse({ vppPodInterface: 'memif' })).toThrow();
  });
});
