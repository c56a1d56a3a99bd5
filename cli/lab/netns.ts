// Network namespaces and links through iproute2. The lab creates links directly inside its own
// namespaces (`ip -n`), so nothing ever appears in, or changes, the host's namespace.
import { run, runOk } from './exec.ts';

export async function listNetns(): Promise<string[]> {
  const res = await run('ip', ['-json', 'netns', 'list']);
  if (res.code !== 0 || res.stdout.trim() === '') return [];
  return (JSON.parse(res.stdout) as { name: string }[]).map((n) => n.name);
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

/** Applies iproute2 commands in one process (`ip -batch`), optionally inside a namespace. */
export async function ipBatch(netns: string | undefined, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await runOk('ip', [...(netns ? ['-n', netns] : []), '-batch', '-'], { input: lines.join('\n') + '\n' });
}

export interface LinkInfo {
  ifname: string;
  operstate?: string;
  address?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

export async function links(netns: string): Promise<LinkInfo[]> {
  const res = await run('ip', ['-n', netns, '-json', 'address', 'show']);
  if (res.code !== 0 || res.stdout.trim() === '') return [];
  return JSON.parse(res.stdout) as LinkInfo[];
}
