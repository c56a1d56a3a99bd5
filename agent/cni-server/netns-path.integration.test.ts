// The netns check against real namespaces (root): `ip netns add` bind mounts reached as
// /run/netns and /var/run/netns, a process's /proc/<pid>/ns/net, the host's namespace bind
// mounted under /run/netns, a UTS namespace bind mounted where a netns would be, the node's
// namespace named as a host path; and what a check costs with a node's worth of namespaces.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniCode, CniError } from '../../cni/errors.ts';
import { netnsAvailable, skipUnless } from '../../test/harness/availability.ts';
import { Lab } from '../../test/lab/netns.ts';
import { NetnsCheck } from './netns-path.ts';

const skip = skipUnless('netns check on real namespaces', netnsAvailable());
/** nsfs's statfs type (linux/magic.h), read independently of the st_dev rule the check uses. */
const NSFS_MAGIC = 0x6e736673;

function codeOf(c: NetnsCheck, path: string): number | undefined {
  try {
    c.check(path, 'enter');
    return undefined;
  } catch (err) {
    if (!(err instanceof CniError)) throw err;
    return err.code;
  }
}

/** Median and 99th percentile of `runs` timed calls, in µs. */
function timeUs(runs: number, fn: () => void): { p50: number; p99: number } {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  t.sort((a, b) => a - b);
  return { p50: t[Math.floor(runs / 2)]!, p99: t[Math.floor(runs * 0.99)]! };
}

describe.skipIf(skip)('NetnsCheck on real namespaces', () => {
  const lab = new Lab();
  const dir = mkdtempSync(join(tmpdir(), 'netloom-netns-mounts-'));
  const mounts: string[] = [];
  let node = '';
  let pod = '';
  let pidPath = '';
  const check = new NetnsCheck({ missing: 'refuse' });

  beforeAll(async () => {
    node = await lab.netns('node');
    pod = await lab.netns('pod');
    pidPath = await lab.pidNetns();
  });

  afterAll(async () => {
    // Every mount goes, and the lab's namespaces, even when one umount fails.
    const stuck = mounts.reverse().filter((m) => {
      try {
        execFileSync('umount', [m]);
        return false;
      } catch {
        return true;
      }
    });
    await lab.destroy();
    if (stuck.length === 0) rmSync(dir, { recursive: true, force: true });
    expect(stuck).toEqual([]);
    expect(lab.leftovers()).toEqual([]);
  });

  /** Bind mounts namespace file `from` onto a new file `name` in the test's directory. */
  const bindMount = (from: string, name: string): string => {
    const at = join(dir, name);
    writeFileSync(at, '');
    execFileSync('mount', ['--bind', from, at]);
    mounts.push(at);
    return at;
  };

  it('accepts network namespaces as runtimes name them', () => {
    expect(statfsSync(`/run/netns/${pod}`).type).toBe(NSFS_MAGIC);
    for (const path of [`/run/netns/${pod}`, `/var/run/netns/${pod}`, pidPath])
      expect(codeOf(check, path), path).toBeUndefined();
    expect(codeOf(check, bindMount(pidPath, 'pid-netns')), 'a bind mount outside /run/netns').toBeUndefined();
  });

  it('refuses the host namespace bind mounted, namespaces of other kinds, and the node side', () => {
    const hostMount = bindMount('/proc/self/ns/net', 'host-netns');
    expect(codeOf(check, hostMount)).toBe(CniCode.InvalidNetns);
    expect(() => check.check(hostMount, 'teardown')).toThrow(/agent's own network namespace/);
    const uts = pidPath.replace(/net$/, 'uts');
    expect(() => check.check(uts, 'enter')).toThrow(/is a uts namespace/);
    expect(() => check.check(bindMount(uts, 'uts-ns'), 'enter')).toThrow(/is a uts namespace/);
    const withNode = new NetnsCheck({ missing: 'refuse', hostPaths: [node] });
    expect(() => withNode.check(`/run/netns/${node}`, 'enter')).toThrow(/is the node's namespace/);
    expect(() => withNode.check(`/run/netns/${node}`, 'teardown')).toThrow(/is the node's namespace/);
    expect(codeOf(withNode, `/run/netns/${pod}`)).toBeUndefined();
  });

  it('costs microseconds, also with a full node of namespaces mounted', async () => {
    const runs = 2000;
    const few = { mount: timeUs(runs, () => check.check(`/run/netns/${pod}`, 'enter')) };
    for (let i = 0; i < 120; i++) await lab.netns(`fill${i}`);
    const lines = execFileSync('wc', ['-l', '/proc/self/mountinfo']).toString().trim().split(' ')[0];
    const full = {
      mount: timeUs(runs, () => check.check(`/run/netns/${pod}`, 'enter')),
      proc: timeUs(runs, () => check.check(pidPath, 'enter')),
      teardown: timeUs(runs, () => check.check(`/run/netns/${pod}`, 'teardown')),
    };
    console.log(
      `netns check, µs p50/p99 over ${runs} runs: bind mount ${few.mount.p50.toFixed(1)}/${few.mount.p99.toFixed(1)}; ` +
        `with ${lines} mountinfo lines: bind mount ${full.mount.p50.toFixed(1)}/${full.mount.p99.toFixed(1)}, ` +
        `/proc/<pid>/ns/net ${full.proc.p50.toFixed(1)}/${full.proc.p99.toFixed(1)}, ` +
        `DEL ${full.teardown.p50.toFixed(1)}/${full.teardown.p99.toFixed(1)}`,
    );
    // An ADD's budget is milliseconds; the check must stay a small part of it.
    expect(full.mount.p50).toBeLessThan(1000);
    expect(full.proc.p50).toBeLessThan(1000);
  });
});
