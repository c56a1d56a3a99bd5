// An in-memory kernel behind the Linux driver's ports, for the descriptors' unit tests (after
// knftables' fake): it keeps links, routes, neighbours, FDB and nft rules with the kernel's
// knock-on effects (a deleted device takes its routes and entries with it), refuses what the
// kernel refuses, fails on plan, records every call, and dump()s its state as sorted text.
import { LinuxCommandError, type Condition } from '../errors.ts';
import { ruleLine } from '../kernel/rules.ts';
import { HOST_VETH_MAC } from '../naming.ts';
import type {
  GatewayAddress,
  KernelRoute,
  KernelRule,
  LinuxPorts,
  NatRule,
  OverlayPeer,
  PodSide,
  PodWiring,
  VxlanSpec,
} from '../ports.ts';
import { policyTableSpec } from '../policy-plan.ts';
import { FakeNftPort } from './nft.ts';
import { FakeServices } from './services.ts';

interface FakeVeth {
  key: string;
  mtu: number;
  up: boolean;
  ifindex: number;
  /** The host side's MAC. */
  mac: string;
  /** Where the pod's permanent neighbour for the link-local gateway points. */
  gatewayMac: string;
  peer: PodSide & { netns: string };
}

const fail = (command: string, condition: Condition, what: string): LinuxCommandError =>
  new LinuxCommandError(`${command}: ${what}`, { command, condition });

export class FakeKernel {
  readonly calls: string[] = [];
  readonly namespaces = new Set<string>();
  readonly veths = new Map<string, FakeVeth>();
  readonly routes = new Map<string, KernelRoute>();
  readonly addresses = new Map<string, GatewayAddress>();
  /** netloom's policy rules, by their `ip rule` text (the kernel refuses an identical second one). */
  readonly rules = new Map<string, KernelRule>();
  readonly vxlans = new Map<string, VxlanSpec>();
  readonly neighbours = new Map<string, { device: string; ip: string; mac: string }>();
  readonly fdb = new Map<string, { device: string; mac: string; dst: string }>();
  readonly nat = new Map<number, NatRule>();
  /** Restore rules (`ct direction reply ct mark M meta mark set M`), by handle. */
  readonly natRestores = new Map<number, { mark: number; comment: string }>();
  /** The services table (`ip netloom-svc`) and the conntrack deletions asked for. */
  readonly services = new FakeServices('netloom-svc');
  /** The policy table (`inet netloom-policy`): peer sets and pod chains. */
  readonly policies = new FakeNftPort(policyTableSpec('netloom-policy'));
  forwarding = false;
  private nextIndex = 10;
  private nextHandle = 2;
  private plans: { call: string; condition: Condition; times: number }[] = [];

  /** The ports the driver uses, over this fake. */
  readonly ports: LinuxPorts;

  constructor() {
    this.ports = {
      links: {
        wire: (w) => this.wire(w),
        unwire: (h) => this.op(`unwire ${h}`, () => void this.deleteLink(h)),
        hostVeths: () =>
          this.op('hostVeths', () =>
            [...this.veths].map(([h, v]) => ({
              hostIfName: h,
              ifindex: v.ifindex,
              key: v.key,
              mtu: v.mtu,
              up: v.up,
              mac: v.mac,
              peerIfIndex: v.peer.ifindex,
            })),
          ),
        podSide: (netns, ifname) =>
          this.op(`podSide ${netns} ${ifname}`, () => {
            const v = [...this.veths.values()].find(
              (x) => x.peer.netns === netns && x.peer.ifname === ifname,
            );
            return v ? structuredClone(v.peer) : undefined;
          }),
      },
      routes: {
        replace: (r) => this.op(`route replace ${r.dst}`, () => this.replaceRoute(r)),
        remove: (r) => this.op(`route del ${r.dst}`, () => void this.routes.delete(`${r.table}|${r.dst}`)),
        list: () => this.op('route list', () => [...this.routes.values()].map((r) => ({ ...r }))),
      },
      rules: {
        add: (rs) =>
          this.op(`rule add ${rs.length}`, () => {
            for (const r of rs) this.rules.set(ruleLine('add', r, 0), { ...r });
          }),
        remove: (rs) =>
          this.op(`rule del ${rs.length}`, () => {
            for (const r of rs) this.rules.delete(ruleLine('add', r, 0));
          }),
        list: () => this.op('rule list', () => [...this.rules.values()].map((r) => ({ ...r }))),
      },
      addresses: {
        add: (a) =>
          this.op(`addr add ${a.cidr}`, () => {
            // As the kernel: `addr replace` of an existing address keeps its flags.
            if (!this.addresses.has(a.cidr)) this.addresses.set(a.cidr, { ...a });
          }),
        remove: (c) => this.op(`addr del ${c}`, () => void this.addresses.delete(c)),
        list: () => this.op('addr list', () => [...this.addresses.values()].map((a) => ({ ...a }))),
      },
      vxlan: {
        create: (s) =>
          this.op(
            `vxlan add ${s.device}`,
            () => (this.deleteLink(s.device), void this.vxlans.set(s.device, { ...s })),
          ),
        remove: (d) => this.op(`vxlan del ${d}`, () => void this.deleteLink(d)),
        list: () => this.op('vxlan list', () => [...this.vxlans.values()].map((s) => ({ ...s }))),
      },
      peers: {
        set: (p) => this.op(`peer set ${p.device} ${p.mac}`, () => this.setPeer(p)),
        remove: (p) =>
          this.op(`peer del ${p.device} ${p.mac}`, () => {
            this.neighbours.delete(`${p.device}|${p.nextHop}`);
            this.fdb.delete(`${p.device}|${p.mac}`);
          }),
        list: (devices) =>
          this.op('peer list', () => ({
            neighbours: [...this.neighbours.values()].filter((n) => devices.includes(n.device)),
            fdb: [...this.fdb.values()].filter((f) => devices.includes(f.device)),
          })),
      },
      nat: {
        add: (rule) =>
          this.op(`nat add ${rule.comment}`, () => {
            const handle = this.nextHandle++;
            this.nat.set(handle, { ...rule });
            if (rule.ctMark !== undefined)
              this.natRestores.set(this.nextHandle++, { mark: rule.ctMark, comment: rule.comment });
            return handle;
          }),
        removeAll: (comment) =>
          this.op(`nat del all ${comment}`, () => {
            for (const m of [this.nat, this.natRestores])
              for (const [h, r] of m) if (r.comment === comment) m.delete(h);
          }),
        restores: () =>
          this.op('nat restores', () => [...this.natRestores].map(([handle, r]) => ({ ...r, handle }))),
        replace: (h, rule) =>
          this.op(`nat replace ${h}`, () => {
            if (h >= 0 && !this.nat.has(h)) throw fail('nft replace', 'missing', 'No such file or directory');
            // As the kernel path: every rule of the comment deleted, the new one added under a new handle.
            this.nat.delete(h);
            for (const [other, r] of this.nat) if (r.comment === rule.comment) this.nat.delete(other);
            const handle = this.nextHandle++;
            this.nat.set(handle, { ...rule });
            return handle;
          }),
        remove: (h) => this.op(`nat del ${h}`, () => void this.nat.delete(h)),
        list: () => this.op('nat list', () => [...this.nat].map(([handle, r]) => ({ ...r, handle }))),
      },
      services: {
        apply: (ops) => this.op(`services apply ${ops.length}`, () => this.services.applyNow(ops)),
        list: () => this.op('services list', () => this.services.listNow()),
        flushConntrack: (f) =>
          this.op(`conntrack -D ${f.origDst ?? '*'}:${f.origPortDst}`, () =>
            this.services.flushConntrackNow(f),
          ),
      },
      policies: {
        apply: (ops) => this.op(`policies apply ${ops.length}`, () => this.policies.applyNow(ops)),
        list: () => this.op('policies list', () => this.policies.listNow()),
      },
      node: { ensureForwarding: () => this.op('forwarding', () => void (this.forwarding = true)) },
    };
  }

  /** Fails the next `times` calls whose text starts with `call` with `condition`. */
  failNext(call: string, condition: Condition = 'busy', times = 1): void {
    this.plans.push({ call, condition, times });
  }

  /** Calls that change state (what "zero data-plane changes" counts). */
  changes(): string[] {
    return this.calls.filter(
      (c) =>
        !/^(hostVeths|podSide|route list|rule list|addr list|vxlan list|peer list|nat list|nat restores|services list|policies list)/.test(
          c,
        ),
    );
  }

  /** A link deleted behind the driver's back, with the kernel's knock-on effects (rules naming it stay). */
  deleteLink(name: string): boolean {
    const existed = this.veths.delete(name) || this.vxlans.delete(name);
    for (const [k, r] of this.routes) if (r.dev === name) this.routes.delete(k);
    for (const [k, n] of this.neighbours) if (n.device === name) this.neighbours.delete(k);
    for (const [k, f] of this.fdb) if (f.device === name) this.fdb.delete(k);
    return existed;
  }

  /** A pod namespace removed: its veths die, and their host sides with them. */
  removeNamespace(netns: string): void {
    this.namespaces.delete(netns);
    for (const [h, v] of [...this.veths]) if (v.peer.netns === netns) this.deleteLink(h);
  }

  /** The whole state as sorted lines, for golden comparisons. */
  dump(): string {
    const lines: string[] = [];
    if (this.forwarding) lines.push('forwarding on');
    for (const [h, v] of this.veths) {
      const p = v.peer;
      lines.push(
        `veth ${h} mtu ${v.mtu}${v.up ? ' up' : ''} alias ${v.key} peer ${p.netns}:${p.ifname} mac ${p.mac} mtu ${p.mtu}` +
          ` addrs ${[...p.addresses].sort().join(',')}${p.defaultRoute ? ' default' : ''}` +
          (p.routes.length > 0 ? ` routes ${[...p.routes].sort().join(',')}` : '') +
          // Only when not the default, so the Linux driver's goldens read as before.
          (v.mac !== HOST_VETH_MAC ? ` hostmac ${v.mac}` : '') +
          (v.gatewayMac !== HOST_VETH_MAC ? ` gwmac ${v.gatewayMac}` : ''),
      );
    }
    for (const a of this.addresses.values())
      lines.push(
        `addr ${a.cidr}${a.noprefixroute ? ' noprefixroute' : ''}${a.metric !== 0 ? ` metric ${a.metric}` : ''}`,
      );
    for (const r of this.rules.values())
      lines.push(ruleLine('add', r, 0).replace(/^rule add (.*) protocol 0$/, 'rule $1'));
    for (const r of this.routes.values()) {
      lines.push(
        [
          'route',
          r.table,
          r.type,
          r.dst,
          r.gateway && `via ${r.gateway}`,
          r.dev && `dev ${r.dev}`,
          r.onlink && 'onlink',
        ]
          .filter(Boolean)
          .join(' '),
      );
    }
    for (const s of this.vxlans.values())
      lines.push(`vxlan ${s.device} id ${s.vni} local ${s.localIp} port ${s.port} mtu ${s.mtu} mac ${s.mac}`);
    for (const n of this.neighbours.values()) lines.push(`neigh ${n.device} ${n.ip} ${n.mac}`);
    for (const f of this.fdb.values()) lines.push(`fdb ${f.device} ${f.mac} dst ${f.dst}`);
    for (const r of this.nat.values()) {
      lines.push(
        `nat ${r.comment} ${r.source} except ${[...r.except].sort().join(',') || '-'}` +
          `${r.ctMark !== undefined ? ` ct mark 0x${r.ctMark.toString(16)}` : ''}` +
          ` ${r.toAddress === '' ? 'masquerade' : `snat ${r.toAddress}`}`,
      );
    }
    for (const r of this.natRestores.values())
      lines.push(`nat-restore ${r.comment} mark 0x${r.mark.toString(16)}`);
    lines.push(...this.services.nft.dump());
    lines.push(...this.policies.nft.dump().map((l) => l.replace(/^nft /, 'nft policy ')));
    return lines.sort().join('\n');
  }

  /** Records a call, fails it on plan, else does the work: as a promise, like the kernel ports. */
  private op<T>(call: string, work: () => T): Promise<T> {
    this.calls.push(call);
    const plan = this.plans.find((p) => p.times > 0 && call.startsWith(p.call));
    if (plan) {
      plan.times--;
      return Promise.reject(fail(call, plan.condition, `planned failure (${plan.condition})`));
    }
    try {
      return Promise.resolve(work());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private wire(w: PodWiring): Promise<void> {
    return this.op(`wire ${w.hostIfName}`, () => {
      if (!this.namespaces.has(w.netns))
        throw fail('link add', 'netns', `Cannot open network namespace "${w.netns}"`);
      this.deleteLink(w.hostIfName);
      if ([...this.veths.values()].some((v) => v.peer.netns === w.netns && v.peer.ifname === w.ifname)) {
        throw fail('link add', 'exists', 'RTNETLINK answers: File exists');
      }
      const peer = {
        netns: w.netns,
        ifname: w.ifname,
        ifindex: this.nextIndex++,
        mac: w.mac,
        mtu: w.mtu,
        up: true,
      };
      const pod = {
        ...peer,
        addresses: [...w.addresses],
        defaultRoute: w.defaultRoute && w.addresses.some((a) => !a.includes(':')),
        routes: w.addresses.some((a) => !a.includes(':')) ? [...(w.routes ?? [])] : [],
      };
      this.veths.set(w.hostIfName, {
        key: w.key,
        mtu: w.mtu,
        up: true,
        ifindex: this.nextIndex++,
        mac: w.hostMac ?? HOST_VETH_MAC,
        gatewayMac: w.gatewayMac ?? HOST_VETH_MAC,
        peer: pod,
      });
      for (const dst of w.hostRoutes)
        this.replaceRoute({ dst, type: 'unicast', table: w.hostTable ?? 'main', dev: w.hostIfName });
    });
  }

  private replaceRoute(r: KernelRoute): void {
    const dev = r.dev;
    if (dev !== undefined && dev !== 'lo' && !this.veths.has(dev) && !this.vxlans.has(dev)) {
      throw fail(`route replace ${r.dst}`, 'missing', `Cannot find device "${dev}"`);
    }
    this.routes.set(`${r.table}|${r.dst}`, { ...r });
  }

  private setPeer(p: OverlayPeer): void {
    if (!this.vxlans.has(p.device))
      throw fail('neigh replace', 'missing', `Cannot find device "${p.device}"`);
    this.neighbours.set(`${p.device}|${p.nextHop}`, { device: p.device, ip: p.nextHop, mac: p.mac });
    this.fdb.set(`${p.device}|${p.mac}`, { device: p.device, mac: p.mac, dst: p.remoteIp });
  }
}
