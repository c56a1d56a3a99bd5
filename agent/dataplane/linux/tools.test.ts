import { describe, expect, it } from 'vitest';
import { ToolError } from '../../../lib/iproute.ts';
import { LinuxCommandError } from './errors.ts';
import type { ExecResult, Runner } from './exec.ts';
import { KernelTools } from './tools.ts';

function recording(
  answer: Partial<ExecResult>,
): Runner & { seen: { cmd: string; args: readonly string[]; stdin?: string }[] } {
  const r = {
    seen: [] as { cmd: string; args: readonly string[]; stdin?: string }[],
    run: async (cmd: string, args: readonly string[], opts?: { stdin?: string }): Promise<ExecResult> => {
      r.seen.push({ cmd, args, ...(opts?.stdin !== undefined ? { stdin: opts.stdin } : {}) });
      return { stdout: '', stderr: '', code: 0, ...answer };
    },
  };
  return r;
}

describe('KernelTools', () => {
  it('runs a batch in a namespace through nsenter, tolerating what each line allows', async () => {
    const r = recording({ code: 1, stderr: 'Cannot find device "h1"\nCommand failed -:1\n' });
    const tools = new KernelTools(r);
    await tools.batch('/proc/7/ns/net', [
      { cmd: 'link del h1', ok: ['missing'] },
      { cmd: 'link add h1 type veth peer name x' },
    ]);
    expect(r.seen[0]).toEqual({
      cmd: 'nsenter',
      args: ['--net=/proc/7/ns/net', '--', 'ip', '-force', '-batch', '-'],
      stdin: 'link del h1\nlink add h1 type veth peer name x\n',
    });
    const named = recording({});
    await new KernelTools(named).batch('node1', [{ cmd: 'link show' }]);
    expect(named.seen[0]?.args[0]).toBe('--net=/run/netns/node1');
  });

  it('throws the first failure a line does not tolerate, classified', async () => {
    const tools = new KernelTools(
      recording({
        code: 1,
        stderr:
          'RTNETLINK answers: File exists\nCommand failed -:1\nRTNETLINK answers: Device or resource busy\nCommand failed -:2\n',
      }),
    );
    const err = await tools
      .batch(undefined, [{ cmd: 'link add a type veth peer name b' }, { cmd: 'link set a up' }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinuxCommandError);
    expect((err as LinuxCommandError).condition).toBe('exists');
    expect((err as LinuxCommandError).retriable).toBe(false);
    const busy = await new KernelTools(
      recording({ code: 1, stderr: 'RTNETLINK answers: Device or resource busy\nCommand failed -:1\n' }),
    )
      .batch(undefined, [{ cmd: 'link set a up' }])
      .catch((e: unknown) => e);
    expect((busy as LinuxCommandError).retriable).toBe(true);
  });

  it('coalesces the batches of one tick per namespace into one process, answering each from its own lines', async () => {
    // Line 3 (the second call's first line) fails; line 1 fails in a way its call tolerates.
    const r = recording({
      code: 1,
      stderr:
        'Cannot find device "old"\nCommand failed -:1\nRTNETLINK answers: File exists\nCommand failed -:3\n',
    });
    const tools = new KernelTools(r);
    const results = await Promise.allSettled([
      tools.batch('n1', [{ cmd: 'link del old', ok: ['missing'] }, { cmd: 'link add a type dummy' }]),
      tools.batch('n1', [{ cmd: 'link add b type dummy' }, { cmd: 'link set b up' }]),
      tools.batch('n2', [{ cmd: 'link add c type dummy' }]),
      tools.batch('n1', [{ cmd: 'link add d type dummy' }]),
    ]);
    expect(r.seen.map((x) => [x.args[0], x.stdin])).toEqual([
      [
        '--net=/run/netns/n1',
        'link del old\nlink add a type dummy\nlink add b type dummy\nlink set b up\nlink add d type dummy\n',
      ],
      // n2's batch ran alone, and was given the same canned answer: its line 1 "failed" as missing.
      ['--net=/run/netns/n2', 'link add c type dummy\n'],
    ]);
    expect(results.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const second = (results[1] as PromiseRejectedResult).reason as LinuxCommandError;
    expect(second.condition).toBe('exists');
    expect(second.message).toContain('link add b type dummy');
    // A batch asked for after the flush is a process of its own.
    await tools.batch('n1', [{ cmd: 'link show' }]).catch(() => undefined);
    expect(r.seen).toHaveLength(3);
  });

  it('turns a timeout into a retriable busy error', async () => {
    const slow: Runner = {
      run: () => Promise.reject(new ToolError('ip timed out', { command: 'ip', timedOut: true })),
    };
    const err = await new KernelTools(slow).json(undefined, ['link', 'show']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinuxCommandError);
    expect((err as LinuxCommandError).condition).toBe('busy');
    expect((err as LinuxCommandError).retriable).toBe(true);
  });

  it('classifies a vanished namespace and a missing table', () => {
    expect(LinuxCommandError.classify('nsenter: cannot open /proc/9/ns/net: No such file or directory')).toBe(
      'netns',
    );
    expect(
      LinuxCommandError.classify('Error: No such file or directory\nlist chain inet x postrouting'),
    ).toBe('missing');
    expect(LinuxCommandError.classify('Error: Unknown device type.')).toBe('invalid');
  });
});
