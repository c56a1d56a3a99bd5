// The relay against the real /bin/sh, every answer compared with a direct spawn of the same
// command (lib/iproute.ts runProcess): what the callers see must not depend on the runner.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runProcess, ToolError, type ProcessOptions } from './iproute.ts';
import { lookPath, ProcessRelay } from './process-relay.ts';

let tmpBase: string;
let relay: ProcessRelay;

beforeAll(() => {
  tmpBase = mkdtempSync(join(tmpdir(), 'netloom-relay-test-'));
});
afterAll(() => rmSync(tmpBase, { recursive: true, force: true }));
afterEach(async () => {
  await relay?.close();
  // Nothing of a request's stdin outlives the relay.
  expect(readdirSync(tmpBase)).toEqual([]);
});

function pool(size = 4, timeoutMs?: number): ProcessRelay {
  relay = new ProcessRelay({ size, tmpBase, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  return relay;
}

/** The relay's answer, and that it is a direct spawn's answer to the same request. */
async function same(cmd: string, args: readonly string[], opts: ProcessOptions = {}): Promise<void> {
  const [viaRelay, direct] = await Promise.all([relay.run(cmd, args, opts), runProcess(cmd, args, opts)]);
  expect(viaRelay).toEqual(direct);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('process relay: outputs, exactly as a direct spawn', () => {
  it('stdout with and without a trailing newline, multi-line, empty', async () => {
    pool();
    await same('printf', ['%s', 'no newline']);
    await same('printf', ['%s\n', 'one line']);
    await same('printf', ['a\n\nb\r\n\n\n']);
    await same('true', []);
    await same('ip', ['link', 'show', 'dev', 'lo']);
    expect(relay.stats()).toMatchObject({ relayed: 5, direct: 0 });
  });

  it('binary-ish output (control bytes, invalid UTF-8, a token-like text)', async () => {
    pool();
    await same('printf', ['\\000\\001\\002\\377\\376\\200abc\\033[0m\\n\\000']);
    await same('printf', ['nlrelay:00:1 0\nnlrelay:']);
    const all = Array.from({ length: 256 }, (_, i) => `\\${i.toString(8).padStart(3, '0')}`).join('');
    await same('printf', [all]);
  });

  it('large stdout (> 1 MB) and large stderr at once', async () => {
    pool();
    const res = await relay.run('seq', ['1', '300000']);
    expect(res.stdout.length).toBeGreaterThan(1_000_000);
    expect(res.stdout.endsWith('300000\n')).toBe(true);
    await same('sh', ['-c', 'seq 1 250000; seq 7 190000 >&2; head -c 2000000 /dev/zero']);
  });

  it('stderr only, and non-zero exit codes', async () => {
    pool();
    await same('sh', ['-c', 'printf "only stderr" >&2']);
    for (const code of [1, 2, 42, 127, 255]) await same('sh', ['-c', `echo out; echo err >&2; exit ${code}`]);
    await same('ip', ['link', 'show', 'dev', 'nl-no-such-dev']);
  });

  it('hostile arguments arrive as written, nothing expanded or run', async () => {
    pool();
    const marker = join(tmpBase, 'pwned');
    const args = [
      "'",
      '"',
      "'\\''",
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      '; touch ' + marker,
      '| touch ' + marker,
      '&& touch ' + marker,
      'a\nb',
      'line\n',
      '\n',
      ' spaces  inside ',
      '',
      '*',
      '~',
      '$HOME',
      '${PATH}',
      '\\',
      '\\n',
      '\t',
      '-n',
      '--',
      'ünïcødé ✓',
      '%s %d',
      '!',
      '#comment',
    ];
    const res = await relay.run('printf', ['[%s]\n', ...args]);
    expect(res).toEqual({ stdout: args.map((a) => `[${a}]\n`).join(''), stderr: '', code: 0 });
    await same('printf', ['[%s]\n', ...args]);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a NUL byte in an argument before running anything', async () => {
    pool();
    const err = await relay.run('printf', ['a\0b']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).message).toMatch(/NUL/);
    expect(relay.stats()).toMatchObject({ spawned: 0, relayed: 0, direct: 0 });
  });
});

describe('process relay: stdin', () => {
  it('carries every byte (NUL too) and multi-byte text exactly', async () => {
    pool();
    const everyByte = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    const text = `${everyByte}\n${everyByte.slice(1)}ünïcødé ✓ no newline at the end`;
    const res = await relay.run('sha256sum', [], { stdin: text });
    expect(res.stdout.split(' ')[0]).toBe(createHash('sha256').update(text).digest('hex'));
    await same('od', ['-An', '-tx1', '-v'], { stdin: text });
    await same('cat', [], { stdin: text });
    await same('cat', [], { stdin: '' });
  });

  it('feeds an `ip -batch -` script, and a command without stdin reads an empty one', async () => {
    pool();
    await same('ip', ['-force', '-batch', '-'], {
      stdin: 'link show dev lo\naddr show dev lo\nlink show dev nl-no-such-dev\n',
    });
    await same('cat', []);
  });

  it('goes through a 0600 file in a private 0700 directory, removed after the request', async () => {
    pool();
    const res = await relay.run(
      'sh',
      ['-c', 'f=$(readlink /proc/$$/fd/0); stat -c %a "$f"; stat -c %a "$(dirname "$f")"; echo "$f"'],
      { stdin: 'secret' },
    );
    const [fileMode, dirMode, file] = res.stdout.trim().split('\n');
    expect([fileMode, dirMode]).toEqual(['600', '700']);
    expect(file?.startsWith(join(tmpBase, 'netloom-relay-'))).toBe(true);
    expect(existsSync(file ?? '')).toBe(false);
  });
});

describe('process relay: stdin directories', () => {
  it("removes a dead process's stdin directory, keeps a live one's", async () => {
    const dead = await new Promise<number>((resolve) => {
      const c = spawn('true');
      c.on('exit', () => resolve(c.pid!));
    });
    const deadDir = join(tmpBase, `netloom-relay-${dead}-abc123`);
    const liveDir = join(tmpBase, `netloom-relay-${process.ppid}-def456`);
    for (const d of [deadDir, liveDir]) mkdirSync(d, { mode: 0o700 });
    writeFileSync(join(deadDir, 'in-1'), 'left behind');
    pool();
    await relay.run('cat', [], { stdin: 'no newline: through a file' });
    expect(existsSync(deadDir)).toBe(false);
    expect(existsSync(liveDir)).toBe(true);
    rmSync(liveDir, { recursive: true });
  });
});

describe('process relay: the pool', () => {
  it('serves more requests than relays, at most `size` at a time, in order', async () => {
    pool(2);
    const t0 = performance.now();
    let maxBusy = 0;
    const sampler = setInterval(() => (maxBusy = Math.max(maxBusy, relay.stats().busy)), 5);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => relay.run('sh', ['-c', `sleep 0.1; echo ${i}; echo e${i} >&2`])),
    );
    clearInterval(sampler);
    expect(results).toEqual(
      Array.from({ length: 8 }, (_, i) => ({ stdout: `${i}\n`, stderr: `e${i}\n`, code: 0 })),
    );
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390); // 8 × 100 ms over 2 relays
    expect(maxBusy).toBe(2);
    expect(relay.stats()).toMatchObject({ spawned: 2, relays: 2, busy: 0, queued: 0, relayed: 8 });
  });

  it('a timeout kills the command and what it started, fails as a direct spawn does, and the relay is replaced', async () => {
    pool(1);
    const cmd = ['sh', '-c', 'sleep 30 & echo "$$ $!" >&2; wait'] as const;
    const t0 = performance.now();
    const err = (await relay
      .run(cmd[0], cmd.slice(1), { timeoutMs: 300 })
      .catch((e: unknown) => e)) as ToolError;
    expect(performance.now() - t0).toBeLessThan(2_000);
    const direct = (await runProcess(cmd[0], cmd.slice(1), { timeoutMs: 300, processGroup: true }).catch(
      (e: unknown) => e,
    )) as ToolError;
    for (const e of [err, direct]) {
      expect(e).toBeInstanceOf(ToolError);
      expect(e.timedOut).toBe(true);
      expect(e.retriable).toBe(true);
    }
    expect(err.message).toBe(direct.message);
    expect(err.command).toBe(direct.command);
    const pids = err.stderr.trim().split(' ').map(Number);
    expect(pids).toHaveLength(2);
    await until(() => pids.every((p) => !alive(p)));
    await same('echo', ['after']);
    expect(relay.stats().spawned).toBe(2);
  });

  it('a plain `sleep` past its bound (the pool default timeout)', async () => {
    pool(2, 200);
    const err = (await relay.run('sleep', ['10']).catch((e: unknown) => e)) as ToolError;
    expect(err.message).toBe('sleep 10 timed out after 200 ms');
    expect(err.timedOut).toBe(true);
  });

  it('a relay killed from outside while idle is replaced; while running, its request fails and its command dies', async () => {
    pool(1);
    const shellPid = Number((await relay.run('sh', ['-c', 'echo $PPID'])).stdout);
    expect(alive(shellPid)).toBe(true);
    process.kill(shellPid, 'SIGKILL');
    await until(() => relay.stats().relays === 0);
    await same('echo', ['respawned']);
    expect(relay.stats().spawned).toBe(2);

    const secondPid = Number((await relay.run('sh', ['-c', 'echo $PPID'])).stdout);
    const running = relay.run('sh', ['-c', 'echo "$PPID $$" >&2; sleep 30'], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 200));
    process.kill(secondPid, 'SIGKILL');
    const t0 = performance.now();
    const err = (await running.catch((e: unknown) => e)) as ToolError;
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(err).toBeInstanceOf(ToolError);
    expect(err.timedOut).toBe(false);
    expect(err.message).toMatch(/process relay exited \(SIGKILL\) while running it/);
    const [relayShell, child] = err.stderr.trim().split(' ').map(Number) as [number, number];
    expect(relayShell).toBe(secondPid);
    await until(() => !alive(relayShell) && !alive(child));
    await same('echo', ['respawned again']);
  });

  it('close lets running requests finish, fails waiting ones and later ones, and leaves no shell', async () => {
    pool(1);
    const shellPid = Number((await relay.run('sh', ['-c', 'echo $PPID'])).stdout);
    const running = relay.run('sh', ['-c', 'sleep 0.3; echo done'], { stdin: 'x' });
    await until(() => relay.stats().busy === 1);
    const waiting = relay.run('echo', ['never']).catch((e: unknown) => e);
    await until(() => relay.stats().queued === 1);
    await relay.close();
    expect(await running).toEqual({ stdout: 'done\n', stderr: '', code: 0 });
    expect(await waiting).toBeInstanceOf(ToolError);
    expect(((await waiting) as ToolError).message).toMatch(/closed/);
    expect(await relay.run('echo', ['late']).catch((e: unknown) => (e as Error).message)).toMatch(/closed/);
    await until(() => !alive(shellPid));
    expect(relay.stats().relays).toBe(0);
  });
});

describe('process relay: what goes to a direct spawn', () => {
  it('another environment, a process group, a command not on PATH', async () => {
    pool();
    const env = { PATH: process.env['PATH'] ?? '', NETLOOM_RELAY_TEST: 'yes' };
    expect((await relay.run('sh', ['-c', 'echo $NETLOOM_RELAY_TEST'], { env })).stdout).toBe('yes\n');
    await same('sh', ['-c', 'echo $$ >/dev/null; echo grouped'], { processGroup: true });
    const [a, b] = await Promise.all(
      [relay.run('netloom-no-such-tool', ['x']), runProcess('netloom-no-such-tool', ['x'])].map((p) =>
        p.catch((e: unknown) => e as ToolError),
      ),
    );
    expect(a).toBeInstanceOf(ToolError);
    expect((a as ToolError).message).toBe((b as ToolError).message);
    expect(relay.stats()).toMatchObject({ direct: 3, relayed: 0, spawned: 0 });
    // The relay's own environment is this process's: the same `env` either way (a shell
    // exports it in its own order).
    const sorted = (r: { stdout: string }): string[] => r.stdout.split('\n').sort();
    expect(sorted(await relay.run('env', []))).toEqual(sorted(await runProcess('env', [])));
  });

  it('a relay shell that cannot start: the request runs directly', async () => {
    relay = new ProcessRelay({ shell: join(tmpBase, 'no-such-shell'), tmpBase });
    await same('echo', ['still answered'], { stdin: 'in' });
    await same('echo', ['and the next']);
    expect(relay.stats()).toMatchObject({ direct: 2, relayed: 0 });
  });

  it('finds commands on PATH as execvp does (executable regular files only)', () => {
    expect(lookPath('sh', '/nonexistent:/bin')).toBe('/bin/sh');
    expect(lookPath('sh', '')).toBeUndefined();
    expect(lookPath('passwd', '/etc')).toBeUndefined(); // not executable
    expect(lookPath('bin', '/')).toBeUndefined(); // a directory
  });
});
