// Node-wide kernel settings: pods are routed, so the node must forward. Set once per driver
// instance (a restarted agent sets it again); `-e` skips IPv6 where the kernel has none.
import type { NodePort } from '../ports.ts';
import type { KernelTools } from '../tools.ts';

export class KernelNode implements NodePort {
  private readonly tools: KernelTools;
  private readonly hostNetns: string | undefined;
  private done: Promise<void> | undefined;

  constructor(tools: KernelTools, hostNetns: string | undefined) {
    this.tools = tools;
    this.hostNetns = hostNetns;
  }

  ensureForwarding(): Promise<void> {
    this.done ??= this.tools
      .exec(this.hostNetns, 'sysctl', [
        '-e',
        '-q',
        '-w',
        'net.ipv4.ip_forward=1',
        'net.ipv6.conf.all.forwarding=1',
      ])
      .then(() => undefined)
      .catch((err: unknown) => {
        this.done = undefined;
        throw err;
      });
    return this.done;
  }
}
