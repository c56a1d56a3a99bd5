// Network namespaces and links through iproute2. The lab creates links directly inside its own
// namespaces, so nothing ever appears in, or changes, the host's namespace. Batches and JSON
// reads go through lib/iproute.ts, the namespace bookkeeping (`ip netns add|del|pids`) through
// the lab's exec.
import { ipBatch as runIpBatch, ipJson, ToolError } from '../../lib/iproute.ts';
import { LabError, run, runOk } from './exec.ts';

export async function listNetns(): Promise<string[]> {
  const listed = await ipJson<{ name: string }>(['netns', 'list']).catch(() => []);
  return listed.map((n) => n.name);
}

export async function addNetns(name: string): Promise<void> {
  await runOk('ip', ['netns', 'add', name]);
  await runOk('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Deletes a namespace; a missing one is fine. */
export async function delNetns(name: string): Promise<void> {
  const res = await run('ip', ['netns', 'del', name]);
  if (res.code !== 0 && !/No such file|not found|Invalid/i.test(res.stderr)) {
    throw new Error(`ip netns del ${name}: ${res.stderr.trim()}`);
  }
}

/** Pids of processes whose network namespace is `name`. */
export async function netnsPids(name: string): Promise<number[]> {
  const res = await run('ip', ['netns', 'pids', name]);
  if (res.code !== 0) return [];
  return res.stdout
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number)
    .filter((n) => Number.isInteger(n));
}

/**
 * Applies iproute2 commands in one process (`ip -force -batch -`), optionally inside a
 * namespace; a failure is a LabError (what `lab up` reports as such) naming the first bad line.
 */
export async function ipBatch(netns: string | undefined, lines: string[]): Promise<void> {
  try {
    await runIpBatch(lines, { netns });
  } catch (err) {
    if (err instanceof ToolError) throw new LabError(err.message, { cause: err });
    throw err;
  }
}

export interface LinkInfo {
  ifname: string;
  operstate?: string;
  address?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** The links of a namespace with their addresses; none when it cannot be read. */
export async function links(netns: string): Promise<LinkInfo[]> {
  return ipJson<LinkInfo>(['address', 'show'], { netns }).catch(() => []);
}
