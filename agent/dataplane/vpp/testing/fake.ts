// Starts fake VPP servers on throwaway unix sockets for tests, and cleans them up.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeVppServer, type FakeVppOptions } from '../fake/server.ts';
import { loadDriverDefinitions } from './definitions.ts';

export interface FakeLab {
  readonly socketPath: string;
  start(options?: Partial<FakeVppOptions>): Promise<FakeVppServer>;
  cleanup(): Promise<void>;
}

export async function fakeLab(): Promise<FakeLab> {
  const dir = await mkdtemp(join(tmpdir(), 'nl-vpp-'));
  const socketPath = join(dir, 'api.sock');
  const servers: FakeVppServer[] = [];
  const definitions = await loadDriverDefinitions();
  return {
    socketPath,
    async start(options = {}): Promise<FakeVppServer> {
      const s = await FakeVppServer.start({ socketPath, definitions, ...options });
      servers.push(s);
      return s;
    },
    async cleanup(): Promise<void> {
      for (const s of servers) await s.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
