// createVppDriver: the agent's entry point. It must not block on a VPP that is not up yet, and
// it must name the messages a VPP lacks.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { podInterfaceKey } from '../../items/keys.ts';
import { KvScheduler } from '../../scheduler/scheduler.ts';
import { silentLogger } from '../../../lib/logging.ts';
import { nodeItems, podItems } from '../linux/test-items.ts';
import { createVppDriver, missingMessages } from './driver.ts';
import { loadV25Definitions } from './testing/definitions.ts';
import { fakeLab } from './testing/fake.ts';
import { bootedState, UPLINK } from './testing/driver-lab.ts';

const n1 = { name: 'n1', id: 1, underlayIp: '192.168.0.1' };
const p1 = {
  namespace: 'default',
  name: 'p1',
  containerId: 'c1',
  netns: '/run/netns/p1',
  ip: '10.1.1.11',
  hostIfName: 'nlp1',
};

describe('createVppDriver', () => {
  it('returns while VPP is down; items retry and apply once VPP is up', async () => {
    const lab = await fakeLab();
    const driver = await createVppDriver({
      socketPath: lab.socketPath,
      definitions: await loadV25Definitions(),
      logger: silentLogger(),
      uplink: UPLINK,
      startTimeoutMs: 50,
      client: { reconnect: { initialDelayMs: 10, maxDelayMs: 30 }, liveness: false },
    });
    try {
      const s = new KvScheduler({ driver, logger: silentLogger(), retry: { auto: false } });
      await s.commit([...nodeItems(n1, [n1]), ...podItems(n1, p1)]);
      expect(s.statuses().some((st) => st.state === 'retrying')).toBe(true);
      await lab.start({ state: bootedState() });
      await driver.client.ready(5_000);
      for (let i = 0; i < 5 && s.statuses().some((st) => st.state !== 'configured'); i++)
        await s.retryDue(Date.now() + 600_000);
      expect(s.status(podInterfaceKey('default', 'p1', 'eth0'))?.state).toBe('configured');
    } finally {
      await driver.close?.();
      await lab.cleanup();
    }
  });

  it('logs the driver messages a VPP lacks', async () => {
    const lab = await fakeLab();
    await lab.start({ crcOverrides: { tap_create_v3: '00000000' }, omit: ['acl_dump'] });
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const driver = await createVppDriver({
      socketPath: lab.socketPath,
      definitions: await loadV25Definitions(),
      logger,
    });
    try {
      expect(missingMessages(driver.client)).toEqual(['tap_create_v3', 'acl_dump']);
      await new Promise((r) => setTimeout(r, 20));
      expect(lines.join('')).toContain('"missing":["tap_create_v3","acl_dump"]');
    } finally {
      await driver.close?.();
      await lab.cleanup();
    }
  });
});
