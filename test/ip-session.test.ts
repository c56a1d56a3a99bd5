// lib/iproute.ts IpSession against the real iproute2 in a namespace of its own: each request's
// failures are its own (numbered from its first line), a line iproute2 cannot parse ends the
// process and fails only that request, a line with a line break is refused before anything
// runs, and a wedged request times out and leaves a working session behind.
import { afterAll, describe, expect, it } from 'vitest';
import { IpSession, runBatch, ToolError } from '../lib/iproute.ts';
import { Lab } from './lab/netns.ts';
import { netnsAvailable, skipUnless } from './harness/availability.ts';

const skip = skipUnless('ip session in a network namespace', netnsAvailable());
const lab = new Lab();
afterAll(() => lab.destroy());

describe.skipIf(skip)('IpSession', () => {
  it('answers each request with its own failures, survives a parse error and refuses line breaks', async () => {
    const ns = await lab.netns('ipsess');
    const session = new IpSession({ netns: ns });
    try {
      const first = await session.run(['link add s1a type veth peer name s1b', 'link set s1a up']);
      expect(first).toMatchObject({ code: 0, failures: [] });
      const second = await session.run([
        'link set s1b up',
        'link add s1a type veth peer name s1c', // exists
        'route replace 10.66.0.1/32 dev s1a scope link proto 78',
      ]);
      expect(second.failures.map((f) => [f.line, f.cmd])).toEqual([
        [2, 'link add s1a type veth peer name s1c'],
      ]);
      expect(second.failures[0]?.text).toContain('File exists');
      // iproute2 exits on an argument it cannot parse: that request fails, the next gets a new process.
      const broken = await session.run(['route replace not-a-prefix dev s1a']).catch((e: unknown) => e);
      expect(broken).toBeInstanceOf(ToolError);
      const after = await session.run(['route replace 10.66.0.2/32 dev s1a scope link proto 78']);
      expect(after).toMatchObject({ code: 0, failures: [] });
      const refused = await session.run(['link set s1a up\nlink del s1a']).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ToolError);
      expect(String(refused)).toContain('line break');
      await expect(runBatch(['link del s1a\nlink del lo'], { netns: ns })).rejects.toThrow(/line break/);
      const routes = await lab.ip(ns, ['-4', 'route', 'show', 'proto', '78']);
      expect(
        routes
          .trim()
          .split('\n')
          .map((l) => l.trim())
          .sort(),
      ).toEqual(['10.66.0.1 dev s1a scope link', '10.66.0.2 dev s1a scope link']);
      expect(session.requests).toBe(3);
    } finally {
      session.close();
    }
  });

  it('times a wedged request out, then works again', async () => {
    const ns = await lab.netns('ipsess2');
    // `monitor` never returns: the request times out, the process is killed, the next one works.
    const session = new IpSession({ netns: ns, timeoutMs: 300 });
    const err = await session.run(['monitor link']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).timedOut).toBe(true);
    expect(await session.run(['link set lo up'])).toMatchObject({ code: 0, failures: [] });
    session.close();
  });
});
