// What the fake VPP's configuration does to the first packet of a new connection, as NAT44-ED
// and the FIB would (a model for tests, read from VPP's source; not a packet engine):
// - a packet from an outside interface to a mapping's external address:port is out2in
//   (nat44_ed_out2in.c): the destination becomes the backend; the source becomes a twice-NAT
//   pool address when the mapping is TWICE_NAT, or SELF_TWICE_NAT and the client is the chosen
//   backend (hairpin); with no twice-NAT address the packet is dropped (out of ports);
// - a packet from an inside interface to one is in2out hairpinning (slow_path_ed in
//   nat44_ed_in2out.c): the source is translated to an ordinary pool address whatever the
//   mapping's flags (no pool address: dropped), and the destination to the mapping's local
//   address — which nat44_ed_add_lb_static_mapping never sets for LB mappings (their backends
//   are `locals`), so for those the model answers what the source implies, 0.0.0.0;
// - before all of it, a packet arriving on an interface with cnat's feature (`interface`) to a
//   cnat translation's VIP:port is cnat's (cnat-input-ip4 runs first on ip4-unicast): the
//   destination becomes the picked path's; the source is kept, except when it is that
//   destination (hairpin), where the `k8s` policy gives it the source-NAT address;
// - anything else meets the FIB: the longest matching route's first path decides (ICMP
//   unreachable, drop, or forwarded).
import { fromAddress, ip4String } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import type { FakeVppState } from './state.ts';

export interface NatPacket {
  /** The NAT side of the interface the packet arrives on. */
  from: 'inside' | 'outside';
  vrf?: number;
  src: string;
  dst: string;
  /** IP protocol number. */
  protocol: number;
  dport: number;
  /** Which backend of an LB mapping (or cnat path) VPP's pick lands on (an index). */
  pick?: number;
  /** The arrival interface by name: where cnat's feature is looked for. */
  interface?: string;
}

export type NatVerdict =
  | { verdict: 'translated'; src: string; dst: string; dport: number }
  | { verdict: 'icmp-unreachable' }
  | { verdict: 'drop'; reason: string }
  | { verdict: 'forwarded' };

const TWICE_NAT = 0x01;
const SELF_TWICE_NAT = 0x02;

const toInt = (ip: string): number => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);

function inPrefix(ip: string, prefix: string): boolean {
  const [net, len] = prefix.split('/');
  const bits = Number(len);
  if (bits === 0) return true;
  const size = 2 ** (32 - bits);
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(net!) / size);
}

const CNAT_POLICY_K8S = 2;

function cnatPath(state: FakeVppState, p: NatPacket): NatVerdict | undefined {
  const itf = [...state.interfaces.values()].find((i) => i.name === p.interface);
  if (itf === undefined || !state.cnat.features.has(itf.swIfIndex)) return undefined;
  const t = [...state.cnat.translations.values()].find((d) => {
    const vip = d['vip'] as VppFields;
    return (
      fromAddress(vip['addr'] as VppFields) === p.dst &&
      vip['port'] === p.dport &&
      d['ip_proto'] === p.protocol
    );
  });
  if (t === undefined) return undefined;
  const paths = t['paths'] as VppFields[];
  const ep = paths[Math.min(p.pick ?? 0, paths.length - 1)]!['dst_ep'] as VppFields;
  const dst = fromAddress(ep['addr'] as VppFields);
  const dport = ep['port'] as number;
  const snat = state.cnat.snat;
  if (p.src !== dst) return { verdict: 'translated', src: p.src, dst, dport };
  if (snat === null || snat.policy !== CNAT_POLICY_K8S)
    return { verdict: 'drop', reason: 'hairpin without a source-NAT policy: the reply never comes back' };
  return { verdict: 'translated', src: ip4String(snat.ip4), dst, dport };
}

export function natPath(state: FakeVppState, p: NatPacket): NatVerdict {
  const viaCnat = cnatPath(state, p);
  if (viaCnat !== undefined) return viaCnat;
  const key = `${p.dst}:${p.dport}:${p.protocol}`;
  const lb = state.nat.lb.get(key);
  const plain = state.nat.static.get(key);
  const mapping = lb ?? plain;
  if (mapping !== undefined) {
    const flags = mapping['flags'] as number;
    if (p.from === 'inside') {
      const pool = [...state.nat.addresses.keys()][0];
      if (pool === undefined) return { verdict: 'drop', reason: 'out of ports (no pool address)' };
      if (lb !== undefined) return { verdict: 'translated', src: pool, dst: '0.0.0.0', dport: 0 };
      return {
        verdict: 'translated',
        src: pool,
        dst: ip4String(mapping['local_ip_address'] as Uint8Array),
        dport: mapping['local_port'] as number,
      };
    }
    let dst: string;
    let dport: number;
    if (lb !== undefined) {
      const locals = lb['locals'] as VppFields[];
      const l = locals[Math.min(p.pick ?? 0, locals.length - 1)]!;
      dst = ip4String(l['addr'] as Uint8Array);
      dport = l['port'] as number;
    } else {
      dst = ip4String(mapping['local_ip_address'] as Uint8Array);
      dport = mapping['local_port'] as number;
    }
    const twice = (flags & TWICE_NAT) !== 0 || ((flags & SELF_TWICE_NAT) !== 0 && p.src === dst);
    if (!twice) return { verdict: 'translated', src: p.src, dst, dport };
    const pool = [...state.nat.twiceNatAddresses.keys()][0];
    if (pool === undefined) return { verdict: 'drop', reason: 'out of ports (no twice-NAT address)' };
    return { verdict: 'translated', src: pool, dst, dport };
  }
  const routes = state.routes.get(state.tableKey(false, p.vrf ?? 0));
  let best: { len: number; route: VppFields } | undefined;
  for (const [prefix, route] of routes ?? []) {
    const len = Number(prefix.split('/')[1]);
    if (inPrefix(p.dst, prefix) && (best === undefined || len > best.len)) best = { len, route };
  }
  const path = (best?.route['paths'] as VppFields[] | undefined)?.[0];
  if (path?.['type'] === 5) return { verdict: 'icmp-unreachable' };
  if (path === undefined || path['type'] === 2) return { verdict: 'drop', reason: 'no route or drop route' };
  return { verdict: 'forwarded' };
}
