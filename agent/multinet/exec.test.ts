// runPlugin against real processes: small shell scripts standing in for plugins, run through the
// real runner (lib/iproute.ts), so stdin, env, exit codes, stderr and the process-group kill
// are the kernel's, not a fake's.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnRunner } from '../../lib/iproute.ts';
import { PluginError, PluginTimeoutError } from './errors.ts';
import { findPlugin, runPlugin, type PluginExec } from './exec.ts';

let dir = '';
const inv = { network: 'ns/nad', plugin: 'fake', command: 'ADD' };
const exec: PluginExec = { runner: spawnRunner(), timeoutMs: 5_000 };

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'netloom-multinet-exec-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('runPlugin', () => {
  it('gives the plugin its stdin and env, and returns its stdout', async () => {
    const path = script('echo', `cat > "${dir}/stdin"; env > "${dir}/env"; echo '{"cniVersion":"1.0.0"}'`);
    const out = await runPlugin(
      inv,
      path,
      { stdin: '{"x":1}', env: { CNI_COMMAND: 'ADD', PATH: '/usr/bin:/bin' } },
      exec,
    );
    expect(out.trim()).toBe('{"cniVersion":"1.0.0"}');
    expect(readFileSync(join(dir, 'stdin'), 'utf8')).toBe('{"x":1}');
    expect(readFileSync(join(dir, 'env'), 'utf8')).toContain('CNI_COMMAND=ADD');
  });

  it('turns a printed CNI error into a PluginError with the plugin’s code and its stderr', async () => {
    const path = script(
      'err',
      `echo 'some log' >&2; echo '{"cniVersion":"1.0.0","code":7,"msg":"no master"}'; exit 1`,
    );
    const err = await runPlugin(inv, path, { stdin: '', env: {} }, exec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err).toMatchObject({ code: 7, pluginMessage: 'no master', stderr: 'some log\n', exitCode: 1 });
  });

  it('an error object with exit 0 is still an error', async () => {
    const path = script('err0', `echo '{"cniVersion":"1.0.0","code":11,"msg":"later"}'`);
    const err = await runPlugin(inv, path, { stdin: '', env: {} }, exec).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 11, pluginMessage: 'later', exitCode: 0, retriable: true });
  });

  it('a crash without an error object is 999 with stderr', async () => {
    const path = script('crash', `echo 'panic: nil map' >&2; exit 2`);
    const err = await runPlugin(inv, path, { stdin: '', env: {} }, exec).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 999, exitCode: 2 });
    expect((err as PluginError).message).toContain('panic: nil map');
  });

  it('past the bound, kills the plugin and everything it started', async () => {
    const pidFile = join(dir, 'child.pid');
    const path = script('hang', `sleep 30 & echo $! > "${pidFile}"; wait`);
    const t0 = performance.now();
    const err = await runPlugin(inv, path, { stdin: '', env: {} }, { ...exec, timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(err).toBeInstanceOf(PluginTimeoutError);
    expect(err).toMatchObject({ code: 11, retriable: true, timeoutMs: 300 });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // Dead, or a zombie nobody reaps in a container without an init.
    const alive = (): boolean => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(false);
  });

  it('a file that cannot be executed is a PluginError, not a crash', async () => {
    const path = join(dir, 'notexec');
    writeFileSync(path, 'x');
    const err = await runPlugin(inv, path, { stdin: '', env: {} }, exec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect(err).toMatchObject({ code: 999, exitCode: -1 });
  });
});

describe('findPlugin', () => {
  it('finds an executable file by name in the first directory that has one', async () => {
    const path = script('found', 'exit 0');
    expect(await findPlugin('ns/nad', 'found', ['/nonexistent', dir])).toBe(path);
    await expect(findPlugin('ns/nad', 'missing', [dir])).rejects.toMatchObject({
      plugin: 'missing',
      code: 7,
    });
  });
});
