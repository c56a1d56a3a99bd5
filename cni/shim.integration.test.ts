// The bundled shim as kubelet runs it: a separate process, env + stdin in, stdout out, talking
// gRPC over a unix socket to an agent — here a grpc-js server (the library the agent serves
// with) speaking proto/cni.proto, answering what each test needs: a result, an error, or nothing.
// Every case runs once per runtime the shim is built for (ADR 0009): the behaviour must not
// depend on it. Bun missing is a loud skip, and a failure under CI (npm ci installs it).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Server,
  ServerCredentials,
  loadPackageDefinition,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { buildCni, CNI_RUNTIMES, findBun, type CniRuntime } from '../scripts/build-cni.ts';
import { loadSync } from '@grpc/proto-loader';
import { bunAvailable, skipUnless } from '../test/harness/availability.ts';

const dir = mkdtempSync(join(tmpdir(), 'netloom-cni-'));
const socket = join(dir, 'cni.sock');
const bunMissing = skipUnless('CNI shim under Bun', bunAvailable(findBun()));
const runtimes = CNI_RUNTIMES.filter((r) => r === 'node' || !bunMissing);
const shims = new Map<CniRuntime, string>();
let server: Server;
let mode: 'ok' | 'error' | 'hang' = 'ok';
const seen: string[] = [];

function run(
  shim: string,
  env: Record<string, string>,
  stdin: string,
): Promise<{ stdout: string; stderr: string; code: number | null; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(shim, [], { env: { PATH: process.env['PATH'] ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ stdout, stderr, code, ms: Date.now() - t0 }));
    child.stdin.on('error', () => undefined); // the shim may exit before reading everything
    child.stdin.end(stdin);
  });
}

const conf = (extra: object = {}) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'netloom',
    agentSocket: socket,
    ...extra,
  });
const env = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c0ffee',
  CNI_NETNS: '/run/netns/p1',
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
};

beforeAll(async () => {
  for (const runtime of runtimes) {
    shims.set(runtime, await buildCni(join(dir, runtime, 'netloom'), { runtime, cacheDir: join(dir, 'cc') }));
  }
  const definition = loadSync(new URL('../proto/cni.proto', import.meta.url).pathname, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = loadPackageDefinition(definition) as unknown as {
    netloom: { cni: { v1: { Cni: { service: ServiceDefinition } } } };
  };
  server = new Server();
  const answer =
    (name: string) =>
    (
      call: { request: { containerId?: string; validAttachments?: { containerId: string }[] } },
      cb: (err: null, reply?: object) => void,
    ) => {
      seen.push(`${name} ${call.request.containerId ?? call.request.validAttachments?.length ?? ''}`);
      if (mode === 'hang') return; // never answers: the shim's deadline must end the call
      if (mode === 'error') return cb(null, { error: { code: 11, msg: 'agent is resyncing', details: '' } });
      if (name !== 'Add') return cb(null, {});
      cb(null, {
        result: {
          interfaces: [
            { name: 'nlc0ffee', mac: 'aa:aa:aa:aa:aa:aa', mtu: 1450, sandbox: '' },
            { name: 'eth0', mac: '0a:58:0a:01:01:07', mtu: 1450, sandbox: '/run/netns/p1' },
          ],
          ips: [{ address: '10.1.1.7/32', gateway: '169.254.1.1', interface: 1 }],
          routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
        },
      });
    };
  const impl: UntypedServiceImplementation = {
    Add: answer('Add'),
    Del: answer('Del'),
    Check: answer('Check'),
    Status: answer('Status'),
    Gc: answer('Gc'),
  };
  server.addService(pkg.netloom.cni.v1.Cni.service, impl);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
});

afterAll(() => {
  server?.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(runtimes)('CNI shim process (%s)', (runtime) => {
  const shim = (): string => shims.get(runtime)!;

  it('answers VERSION without the agent', async () => {
    const before = seen.length;
    const out = await run(shim(), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '1.0.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
    expect(seen.length).toBe(before);
  });

  it('runs ADD against the agent and prints only the result', async () => {
    mode = 'ok';
    const out = await run(shim(), env, conf());
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      cniVersion: '1.0.0',
      ips: [{ address: '10.1.1.7/32', interface: 1 }],
    });
    expect(out.stderr).toBe('');
    expect(seen).toContain('Add c0ffee');
  });

  it('prints the agent error with exit 1', async () => {
    mode = 'error';
    const out = await run(shim(), { ...env, CNI_COMMAND: 'DEL' }, conf());
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: '1.0.0', code: 11, msg: 'agent is resyncing' });
  });

  it('never hangs: an agent that does not answer ends in code 11 within the configured timeout', async () => {
    mode = 'hang';
    const out = await run(shim(), env, conf({ timeoutSeconds: 1 }));
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 11, msg: 'netloom agent is not reachable' });
    expect(out.ms).toBeLessThan(5_000);
  });

  it('logs to the configured file, not to stdout', async () => {
    mode = 'error';
    const logFile = join(dir, `cni-${runtime}.log`);
    const out = await run(shim(), env, conf({ logFile }));
    const { readFileSync } = await import('node:fs');
    expect(JSON.parse(readFileSync(logFile, 'utf8').trim().split('\n')[0]!)).toMatchObject({
      component: 'cni',
      command: 'ADD',
      code: 11,
    });
    expect(out.stderr).toBe('');
  });

  it("sends a GC request far above HTTP/2's 64 KB window (flow control, partial socket writes)", async () => {
    mode = 'ok';
    const attachments = Array.from({ length: 4000 }, (_, i) => ({
      containerID: `${i.toString(16).padStart(8, '0')}${'c'.repeat(56)}`,
      ifname: 'eth0',
    }));
    const out = await run(
      shim(),
      { CNI_COMMAND: 'GC' },
      conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': attachments }),
    );
    expect(out.stdout).toBe('');
    expect(out.code).toBe(0);
    expect(seen.at(-1)).toBe('Gc 4000');
  });

  it('an unreachable agent is code 11 for ADD and 50 for STATUS', async () => {
    const gone = conf({ agentSocket: join(dir, 'no-agent.sock') });
    const add = await run(shim(), env, gone);
    expect(add.code).toBe(1);
    expect(JSON.parse(add.stdout)).toMatchObject({ code: 11, msg: 'netloom agent is not reachable' });
    const status = await run(
      shim(),
      { CNI_COMMAND: 'STATUS' },
      conf({ cniVersion: '1.1.0', agentSocket: join(dir, 'no-agent.sock') }),
    );
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ code: 50 });
  });

  it('fuzz (processes): malformed configs and env always give valid error JSON and a non-zero exit', async () => {
    mode = 'ok';
    const before = seen.length;
    const cases = fc
      .sample(
        fc.tuple(
          fc.record({
            CNI_COMMAND: fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'BOGUS', ''),
            CNI_CONTAINERID: fc.oneof(fc.constant('c0ffee'), fc.string()),
            CNI_IFNAME: fc.oneof(fc.constant('eth0'), fc.string()),
            CNI_NETNS: fc.oneof(fc.constant('/run/netns/p1'), fc.string()),
          }),
          fc.oneof(fc.string(), fc.json(), fc.constant('{"cniVersion":"0.1.0","name":"x","type":"netloom"}')),
        ),
        { numRuns: 120, seed: 1234 },
      )
      .filter(([, stdin]) => {
        try {
          const v = JSON.parse(stdin) as { cniVersion?: unknown; name?: unknown };
          return !(
            typeof v === 'object' &&
            v !== null &&
            ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'].includes(String(v.cniVersion)) &&
            typeof v.name === 'string'
          );
        } catch {
          return true;
        }
      });
    for (const [e, stdin] of cases) {
      const clean = Object.fromEntries(Object.entries(e).filter(([, v]) => !v.includes('\0')));
      const out = await run(shim(), clean, stdin);
      expect(out.code, `${JSON.stringify(clean)} ${stdin}`).not.toBe(0);
      const body = JSON.parse(out.stdout) as { code: number; msg: string };
      expect(body.code).toBeGreaterThan(0);
      expect(body.msg.length).toBeGreaterThan(0);
    }
    expect(cases.length).toBeGreaterThan(100);
    expect(seen.length).toBe(before); // the agent was never asked
  });
});

describe('buildCni(out, nodePath, cacheDir): the older form', () => {
  const head = (file: string): string => readFileSync(file).subarray(0, 40).toString('latin1');

  it('builds for that Node unless NETLOOM_CNI_RUNTIME names another runtime, and refuses an unknown one', async () => {
    const saved = process.env['NETLOOM_CNI_RUNTIME'];
    try {
      delete process.env['NETLOOM_CNI_RUNTIME'];
      const node = await buildCni(join(dir, 'legacy/node/netloom'), process.execPath, join(dir, 'cc'));
      expect(head(node)).toBe(`#!/usr/bin/env -S NODE_COMPILE_CACHE=${join(dir, 'cc')} `.slice(0, 40));
      process.env['NETLOOM_CNI_RUNTIME'] = 'nodejs';
      await expect(buildCni(join(dir, 'legacy/bad/netloom'), process.execPath)).rejects.toThrow(
        /NETLOOM_CNI_RUNTIME: nodejs is none of bun-compile, bun, node/,
      );
      if (bunMissing) return;
      process.env['NETLOOM_CNI_RUNTIME'] = 'bun-compile';
      const compiled = await buildCni(
        join(dir, 'legacy/compiled/netloom'),
        process.execPath,
        join(dir, 'cc'),
      );
      expect(head(compiled).slice(0, 4)).toBe('\x7fELF');
      const out = await run(compiled, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.1.0"}');
      expect(JSON.parse(out.stdout)).toMatchObject({ cniVersion: '1.1.0' });
    } finally {
      if (saved === undefined) delete process.env['NETLOOM_CNI_RUNTIME'];
      else process.env['NETLOOM_CNI_RUNTIME'] = saved;
    }
  });
});
