import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batchErrors,
  inNetns,
  ipBatch,
  ipJson,
  nftApply,
  runBatch,
  runProcess,
  runTool,
  spawnRunner,
  ToolError,
} from './iproute.ts';

describe('batch error text', () => {
  it('maps iproute2 batch errors to their lines', () => {
    const stderr =
      'RTNETLINK answers: File exists\nCommand failed -:2\nCannot find device "nosuch"\nCommand failed -:3\n';
    expect([...batchErrors(stderr)]).toEqual([
      [2, 'RTNETLINK answers: File exists'],
      [3, 'Cannot find device "nosuch"'],
    ]);
  });

  it('enters a namespace by name or by path through nsenter', () => {
    expect(inNetns(undefined, 'ip', ['link'])).toEqual(['ip', ['link']]);
    expect(inNetns('n1', 'ip', ['link'])).toEqual(['nsenter', ['--net=/run/netns/n1', '--', 'ip', 'link']]);
    expect(inNetns('/proc/7/ns/net', 'nft', ['-f', '-'])[1][0]).toBe('--net=/proc/7/ns/net');
  });
});

describe('process runner', () => {
  it('feeds stdin and collects stdout, stderr and the exit code', async () => {
    expect(await runProcess('cat', [], { stdin: 'line 1\nline 2\n' })).toEqual({
      stdout: 'line 1\nline 2\n',
      stderr: '',
      code: 0,
    });
    const res = await runProcess('sh', ['-c', 'echo oops >&2; exit 3']);
    expect(res).toMatchObject({ stderr: 'oops\n', code: 3 });
  });

  it('kills a process that outlives its timeout and says so, retriably', async () => {
    const t0 = performance.now();
    const err = await spawnRunner({ timeoutMs: 100 })
      .run('sleep', ['5'])
      .catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).timedOut).toBe(true);
    expect((err as ToolError).retriable).toBe(true);
  });

  it('with processGroup, a timeout kills what the child started too', async () => {
    // sh starts a sleeper in the background, reports its pid on stderr, then waits: without the
    // group kill the sleeper would outlive the bound (and hold the pipes open).
    const err = await runProcess('sh', ['-c', 'sleep 30 & echo $! >&2; wait'], {
      timeoutMs: 300,
      processGroup: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).timedOut).toBe(true);
    const pid = Number((err as ToolError).stderr.trim());
    expect(pid).toBeGreaterThan(0);
    // Dead or a zombie (killed, its parent gone, and no init in this container that reaps).
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

  it('fails with a ToolError when the tool cannot start', async () => {
    const err = await runProcess('/nonexistent/ip', ['link']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).retriable).toBe(false);
  });
});

const root = process.getuid?.() === 0;

describe.skipIf(!root)('against the real ip and nft, in a throwaway namespace', () => {
  const ns = `nltest-${randomBytes(4).toString('hex')}`;

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
  });

  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // never created
    }
  });

  it('runs every line of a batch and names the one that failed', async () => {
    const lines = ['link add d0 type bridge', 'link add d0 type bridge', 'link set d0 up'];
    const res = await runBatch(lines, { netns: ns });
    expect(res.code).not.toBe(0);
    expect(res.failures).toHaveLength(1);
    expect(res.failures[0]).toMatchObject({ line: 2, cmd: 'link add d0 type bridge' });
    expect(res.failures[0]!.text).toMatch(/File exists/);
    // -force: the line after the failure ran too.
    const [d0] = await ipJson<{ ifname: string; flags: string[] }>(['link', 'show', 'dev', 'd0'], {
      netns: ns,
    });
    expect(d0?.flags).toContain('UP');

    const err = await ipBatch(['link set d0 down', 'link del nosuch0'], { netns: ns }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).line).toEqual({ n: 2, cmd: 'link del nosuch0' });
    expect((err as ToolError).message).toMatch(/^ip link del nosuch0: .*nosuch0/);
    expect((err as ToolError).stderr).toMatch(/Command failed -:2/);
  });

  it('prints JSON from batch show lines and from reads; a failed read throws with stderr', async () => {
    const out = await ipBatch(['link show dev lo'], { netns: ns, json: true });
    expect((JSON.parse(out[0]!) as { ifname: string }[])[0]?.ifname).toBe('lo');
    const err = await ipJson(['link', 'show', 'dev', 'nosuch0'], { netns: ns }).catch((e: unknown) => e);
    expect((err as ToolError).stderr).toMatch(/nosuch0/);
  });

  it('applies an nft script from stdin, and with echo returns the rule handles', async () => {
    await nftApply(
      'add table inet nltest\nadd chain inet nltest c { type filter hook input priority 0; }\n',
      {
        netns: ns,
      },
    );
    const echo = (await nftApply('add rule inet nltest c counter comment "k1"\n', {
      netns: ns,
      echo: true,
    })) as {
      nftables: { add?: { rule?: { handle: number; comment: string } } }[];
    };
    const rule = echo.nftables.find((o) => o.add?.rule)?.add?.rule;
    expect(rule?.comment).toBe('k1');
    expect(rule?.handle).toBeGreaterThan(0);
    expect(await runTool('nft', ['list', 'table', 'inet', 'nltest'], { netns: ns })).toContain(
      'comment "k1"',
    );
    const bad = await nftApply('add rule inet nltest nosuch counter\n', { netns: ns }).catch(
      (e: unknown) => e,
    );
    expect(bad).toBeInstanceOf(ToolError);
    expect((bad as ToolError).stderr).toMatch(/nosuch/);
  });
});
