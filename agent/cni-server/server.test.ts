import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, type Client } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging.ts';
import type { CniReply__Output } from '../../proto/gen/netloom/cni/v1/CniReply.ts';
import { startCniServer } from './server.ts';
import type { CniService } from './service.ts';

const dir = mkdtempSync(join(tmpdir(), 'netloom-cni-sock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Call = (req: object, cb: (err: Error | null, reply: CniReply__Output) => void) => void;

function client(socket: string): Client & Record<'Add' | 'Del' | 'Status' | 'Gc', Call> {
  const def = loadSync(new URL('../../proto/cni.proto', import.meta.url).pathname, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = loadPackageDefinition(def) as unknown as {
    netloom: { cni: { v1: { Cni: new (addr: string, creds: unknown) => Client } } };
  };
  return new pkg.netloom.cni.v1.Cni(`unix://${socket}`, credentials.createInsecure()) as Client &
    Record<'Add' | 'Del' | 'Status' | 'Gc', Call>;
}

const call = (c: Call, req: object): Promise<CniReply__Output> =>
  new Promise((resolve, reject) => c(req, (err, reply) => (err ? reject(err) : resolve(reply))));

describe('CNI gRPC server', () => {
  it('listens on a 0600 unix socket (replacing a stale file), routes every call, removes the socket on close', async () => {
    const socket = join(dir, 'sub', 'cni.sock');
    const seen: string[] = [];
    const service = {
      add: async (r: { containerId: string }) => (
        seen.push(`add ${r.containerId}`),
        { result: { interfaces: [{ name: 'h', mac: '', mtu: 1450, sandbox: '' }], ips: [], routes: [] } }
      ),
      del: async () => (seen.push('del'), {}),
      check: async () => ({}),
      status: async () => ({ error: { code: 50, msg: 'not ready', details: '' } }),
      gc: async (r: { validAttachments: unknown[] }) => (seen.push(`gc ${r.validAttachments.length}`), {}),
    } as unknown as CniService;
    const first = await startCniServer({ socketPath: socket, service, logger: silentLogger() });
    await first.close(100);
    writeFileSync(socket, 'stale');
    const server = await startCniServer({ socketPath: socket, service, logger: silentLogger() });
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const c = client(socket);
    const added = await call(c.Add.bind(c), { containerId: 'c1', ifname: 'eth0' });
    expect(added.result?.interfaces[0]?.mtu).toBe(1450);
    expect((await call(c.Status.bind(c), {})).error?.code).toBe(50);
    await call(c.Gc.bind(c), { validAttachments: [{ containerId: 'c1', ifname: 'eth0' }] });
    await call(c.Del.bind(c), { containerId: 'c1' });
    expect(seen).toEqual(['add c1', 'gc 1', 'del']);
    c.close();
    await server.close(1000);
    expect(existsSync(socket)).toBe(false);
  });
});
