// `netloom lab down`: remove everything of one lab, whatever state it is in — running, half
// started, or after a kill -9 of `lab up`. Processes are found three ways (pid files, the
// NETLOOM_LAB marker in their environment, membership of a lab namespace), namespaces by the
// lab's prefix; links, routes and nftables tables inside them go with the namespaces.
import { removeVppShm } from './vpp.ts';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, markedProcesses, readPidFile, recordOf, stopProcess, type PidRecord } from './daemon.ts';
import type { LabLayout } from './layout.ts';
import { delNetns, listNetns, netnsPids } from './netns.ts';
import { unmountLab } from './real-node.ts';
import type { Out } from './up.ts';
import { forgetJoined } from './join.ts';
import { readState } from './state.ts';

export interface DownResult {
  processes: number;
  namespaces: string[];
  leftovers: string[];
}

function pidFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.pid'))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

async function killAll(recs: PidRecord[], graceMs: number): Promise<void> {
  await Promise.all(recs.map((r) => stopProcess(r, graceMs)));
}

export async function down(layout: LabLayout, out: Out): Promise<DownResult> {
  let killed = 0;
  // 1. Whoever could start things again: the supervisor and a `lab up` holding the lock.
  const first = [
    readPidFile(join(layout.files.pids, 'supervisor.pid')),
    readPidFile(layout.files.lock),
  ].filter(isAlive);
  await killAll(first, 0);
  killed += first.length;

  // 2. The daemons by pid file, pods' processes too. SIGKILL: everything they could tidy up lives
  //    in the lab's namespaces and state dir, which go next (and a graceful kube-apiserver or
  //    etcd takes many seconds to drain its watches).
  const daemons = [...pidFiles(layout.files.pids), ...pidFiles(layout.files.pods)]
    .map(readPidFile)
    .filter(isAlive);
  await killAll(daemons, 0);
  killed += daemons.length;

  // 3. Containers of real nodes: no lab marker, no named namespace, but descendants of a marked
  //    containerd shim. Collected before the shims die (their children are re-parented then).
  const containers = descendants(markedProcesses(layout.marker).map((r) => r.pid))
    .map((p) => recordOf(p, ''))
    .filter(isAlive);
  // Anything still carrying the lab's marker (a crash lost its pid file), then whatever still
  //    lives inside a lab namespace.
  const marked = markedProcesses(layout.marker);
  await killAll([...marked, ...containers], 0);
  killed += marked.length + containers.length;
  const namespaces = (await listNetns()).filter((n) => n.startsWith(layout.netnsPrefix));
  for (const ns of namespaces) {
    const inside = (await netnsPids(ns))
      .filter((p) => p !== process.pid)
      .map((p) => recordOf(p, ''))
      .filter(isAlive);
    await killAll(inside, 0);
    killed += inside.length;
  }

  // 4. Namespaces (pods first, the underlay last), then the state dir.
  const order = [...namespaces].sort((a, b) => rank(layout, a) - rank(layout, b));
  for (const ns of order) await delNetns(ns);
  // Real nodes: the host's veth went with the underlay; the mount namespace files remain mounted.
  await unmountLab(layout);
  // A lab joined to another: only its cluster goes (cli/lab/join.ts), the other lab's etcd stays.
  const state = readState(layout.files.state);
  const joined = state?.join ? await forgetJoined(state) : '';
  rmSync(layout.stateDir, { recursive: true, force: true });
  // The nodes' VPPs (--dataplane vpp) leave their shared memory behind (components.ts names it).
  removeVppShm(`netloom-${layout.name}`);

  const leftovers = [
    ...(await listNetns()).filter((n) => n.startsWith(layout.netnsPrefix)).map((n) => `netns ${n}`),
    ...markedProcesses(layout.marker).map((p) => `process ${p.pid}`),
  ];
  out.write(
    `lab "${layout.name}" removed: ${killed} process${killed === 1 ? '' : 'es'} stopped, ${namespaces.length} namespace${namespaces.length === 1 ? '' : 's'} deleted, ${layout.stateDir} removed\n`,
  );
  if (joined !== '') out.write(`${joined}\n`);
  if (leftovers.length > 0) out.write(`left behind (could not remove): ${leftovers.join(', ')}\n`);
  return { processes: killed, namespaces, leftovers };
}

/** Every descendant of the given processes (by parent pid in /proc/<pid>/stat). */
function descendants(roots: number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    for (const c of children.get(queue.pop()!) ?? []) {
      if (c === process.pid || out.includes(c)) continue;
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

function rank(layout: LabLayout, ns: string): number {
  if (ns.startsWith(`${layout.netnsPrefix}pod-`)) return 0;
  if (ns === layout.underlayNetns) return 2;
  return 1;
}
