// The netns check on what any process can examine without root: its own namespaces, plain
// files, directories, symlinks and dangling paths. Real namespaces of other processes and bind
// mounts are in netns-path.integration.test.ts.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CniCode, CniError } from '../../cni/errors.ts';
import { NetnsCheck, type NetnsUse } from './netns-path.ts';

const dir = mkdtempSync(join(tmpdir(), 'netloom-netns-check-'));
const file = join(dir, 'file');
writeFileSync(file, '');
const subdir = join(dir, 'dir');
mkdirSync(subdir);
const linkToSelf = join(dir, 'host-link');
symlinkSync('/proc/self/ns/net', linkToSelf);
const dangling = join(dir, 'gone');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const refuse = new NetnsCheck({ missing: 'refuse' });
const defer = new NetnsCheck({ missing: 'defer' });

/** The CNI error `check` throws, or undefined when it accepts the path. */
function verdict(c: NetnsCheck, path: string, use: NetnsUse): CniError | undefined {
  try {
    c.check(path, use);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(CniError);
    return err as CniError;
  }
}

describe('NetnsCheck', () => {
  it.each<[string, string, RegExp]>([
    ["the agent's own namespace", '/proc/self/ns/net', /is the agent's own network namespace/],
    ['the same through thread-self', '/proc/thread-self/ns/net', /agent's own/],
    ['a mount namespace', '/proc/self/ns/mnt', /is a mnt namespace, not a network namespace/],
    ['a user namespace', '/proc/self/ns/user', /is a user namespace/],
    ['a regular file', file, /is not a namespace/],
    ['a file of /proc', '/proc/self/status', /is not a namespace/],
    ['a directory', subdir, /is a directory/],
    ['a symlink to the host namespace', linkToSelf, /is a symbolic link/],
    ['a dangling path', dangling, /does not exist/],
    ['a path through a file', `${file}/net`, /does not exist/],
    ['a process that does not exist', '/proc/999999999/ns/net', /does not exist/],
  ])('refuses %s on ADD/CHECK with code 8', (_what, path, why) => {
    const err = verdict(refuse, path, 'enter');
    expect(err?.code).toBe(CniCode.InvalidNetns);
    expect(err?.message).toMatch(why);
    expect(err?.message).toContain(JSON.stringify(path));
  });

  it('leaves a missing path to the data plane when told to, but nothing else', () => {
    expect(verdict(defer, dangling, 'enter')).toBeUndefined();
    expect(verdict(defer, '/proc/999999999/ns/net', 'enter')).toBeUndefined();
    expect(verdict(defer, '/proc/self/ns/net', 'enter')?.code).toBe(CniCode.InvalidNetns);
    expect(verdict(defer, file, 'enter')?.code).toBe(CniCode.InvalidNetns);
  });

  it('lets DEL through for anything gone or not a namespace, never for the host', () => {
    for (const path of [dangling, file, subdir, '/proc/self/ns/mnt', '/proc/999999999/ns/net'])
      expect(verdict(refuse, path, 'teardown'), path).toBeUndefined();
    for (const path of ['/proc/self/ns/net', linkToSelf])
      expect(verdict(refuse, path, 'teardown')?.message, path).toMatch(/agent's own/);
  });
});
