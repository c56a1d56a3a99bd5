// The netns lab: network namespaces standing in for nodes and pods, an underlay bridge in a
// namespace of its own, and processes started inside namespaces. Every name carries a random
// per-run prefix; destroy() (and, as a last resort, process exit) deletes every namespace the
// lab made, which takes their links, routes and nft tables with them. Nothing here touches the
// namespace the tests run in.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { inNetns, runTool } from '../../lib/iproute.ts';
import { sleep } from '../../lib/timing.ts';

const run = promisify(execFile);

/** Commands inside a namespace may be a whole echo mesh (a client reaching every pod). */
const EXEC_TIMEOUT_MS = 120_000;

export interface UnderlayNode {
  /** The node's namespace name. */
  netns: string;
  /** Its underlay address (on its `ul0`). */
  ip: string;
}

export class Lab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly onExit = (): void => this.destroySync();

  constructor() {
    this.prefix = `nl${randomBytes(3).toString('hex')}`;
    process.once('exit', this.onExit);
  }

  /** Creates namespace `<prefix>-<suffix>` with loopback up; returns its name. */
  async netns(suffix: string): Promise<string> {
    const name = `${this.prefix}-${suffix}`;
    await run('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** `ip <args>` inside a namespace; returns stdout. */
  ip(netns: string, args: readonly string[]): Promise<string> {
    return runTool('ip', args, { netns });
  }

  /**
   * A namespace held only by a process (`unshare --net sleep`), known by its
   * /proc/<pid>/ns/net path as a container runtime would pass it; ends with the lab.
   */
  async pidNetns(): Promise<string> {
    const child = spawn('unshare', ['--net', '--', 'sleep', '3600'], { stdio: 'ignore' });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    const path = `/proc/${child.pid}/ns/net`;
    // unshare has switched namespaces once the path differs from ours.
    for (let i = 0; i < 100; i++) {
      const [mine, theirs] = await Promise.all([
        run('readlink', ['/proc/self/ns/net']),
        run('readlink', [path]).catch(() => ({ stdout: '' })),
      ]);
      if (theirs.stdout !== '' && theirs.stdout !== mine.stdout) break;
      await sleep(10);
    }
    await this.exec(path, 'ip', ['link', 'set', 'lo', 'up']);
    return path;
  }

  /** Runs a command inside a namespace (name or path) to completion; returns stdout. */
  exec(netns: string, cmd: string, args: readonly string[], stdin?: string): Promise<string> {
    return runTool(cmd, args, {
      netns,
      timeoutMs: EXEC_TIMEOUT_MS,
      ...(stdin !== undefined ? { stdin } : {}),
    });
  }

  /**
   * Starts a long-running process inside a namespace, resolving once it prints `readyLine`.
   * Its stdin stays open: closing it (or destroy()) ends it.
   */
  async start(
    netns: string,
    cmd: string,
    args: readonly string[],
    readyLine = 'ready',
  ): Promise<ChildProcess> {
    const [nsenter, argv] = inNetns(netns, cmd, args);
    const child = spawn(nsenter, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    child.stdin.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(
        () => reject(new Error(`${cmd} in ${netns} not ready after 20 s: ${err}`)),
        20_000,
      );
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes(readyLine)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${cmd} in ${netns} exited ${code} before ready: ${err}`));
      });
    });
    return child;
  }

  /**
   * An underlay: a bridge in its own namespace and one veth per node (`ul0` in the node,
   * addressed 192.168.77.<i+1>/24). Returns the nodes' underlay addresses.
   */
  async underlay(nodes: readonly string[]): Promise<UnderlayNode[]> {
    const ul = await this.netns('ul');
    await this.ip(ul, ['link', 'add', 'br0', 'type', 'bridge']);
    await this.ip(ul, ['link', 'set', 'br0', 'up']);
    const out: UnderlayNode[] = [];
    for (const [i, node] of nodes.entries()) {
      const port = `p${i}`;
      const ip = `192.168.77.${i + 1}`;
      await this.ip(ul, ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'ul0', 'netns', node]);
      await this.ip(ul, ['link', 'set', port, 'master', 'br0', 'up']);
      await this.ip(node, ['addr', 'add', `${ip}/24`, 'dev', 'ul0']);
      await this.ip(node, ['link', 'set', 'ul0', 'up']);
      out.push({ netns: node, ip });
    }
    return out;
  }

  /** Deletes a namespace early (a pod gone); destroy() skips it. */
  async deleteNetns(name: string): Promise<void> {
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
    const i = this.namespaces.indexOf(name);
    if (i >= 0) this.namespaces.splice(i, 1);
  }

  /** Ends every process and deletes every namespace the lab made. */
  async destroy(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    this.children.clear();
    for (const ns of this.namespaces.splice(0)) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    process.removeListener('exit', this.onExit);
  }

  private destroySync(): void {
    for (const c of this.children) c.kill('SIGKILL');
    for (const ns of this.namespaces.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }

  /** Namespaces of this run still present (for the leak check at the end of a suite). */
  leftovers(): string[] {
    const listed = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    return listed
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`${this.prefix}-`));
  }
}
