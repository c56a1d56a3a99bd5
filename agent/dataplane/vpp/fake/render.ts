// The fake VPP's configuration as sorted text lines, one object per line, for tests to compare
// whole data-plane states (as knftables' fake does). Interfaces appear by name, so a line does
// not depend on sw_if_index allocation order; routes VPP made itself are left out.
import { fromAddress, fromPrefix, ip4String, macString } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import type { FakeVppState } from './state.ts';

export function renderState(s: FakeVppState): string {
  const name = (sw: number): string => s.interfaces.get(sw)?.name ?? (sw === 0xffffffff ? '-' : `#${sw}`);
  const lines: string[] = [];
  for (const i of s.interfaces.values()) {
    if (i.swIfIndex === 0) continue;
    const parts = [
      `if ${i.name}`,
      i.tag && `tag ${i.tag}`,
      (i.flags & 1) !== 0 ? 'up' : 'down',
      i.vrf4 !== 0 && `vrf ${i.vrf4}`,
    ];
    parts.push(
      i.mtu[0] ? `mtu ${i.mtu[0]}` : '',
      i.unnumberedTo !== undefined ? `unnumbered ${name(i.unnumberedTo)}` : '',
      i.proxyArp ? 'proxy-arp' : '',
    );
    parts.push(...i.addresses.map((a) => `addr ${fromPrefix(a)}`));
    if (i.tap) {
      const t = i.tap;
      const ip =
        t['host_ip4_prefix_set'] === true
          ? `${ip4String((t['host_ip4_prefix'] as VppFields)['address'] as Uint8Array)}/${(t['host_ip4_prefix'] as VppFields)['len'] as number}`
          : '-';
      const gw = t['host_ip4_gw_set'] === true ? ip4String(t['host_ip4_gw'] as Uint8Array) : '-';
      parts.push(
        `tap ${t['host_namespace'] as string}:${t['host_if_name'] as string} mtu ${t['host_mtu_size'] as number} mac ${macString(t['host_mac_addr'] as Uint8Array)} ip ${ip} gw ${gw}`,
      );
    }
    if (i.afPacket) parts.push(`af-packet ${i.afPacket.hostIfName} mac ${macString(i.mac)}`);
    if (i.vxlan) {
      const v = i.vxlan;
      parts.push(
        `vxlan ${fromAddress(v['src_address'] as VppFields)} -> ${fromAddress(v['dst_address'] as VppFields)}:${v['dst_port'] as number} vni ${v['vni'] as number}${v['is_l3'] === true ? ' l3' : ''} decap ${decapText(s, v)}`,
      );
    }
    if (i.devType === 'Loopback') parts.push(`mac ${macString(i.mac)}`);
    lines.push(parts.filter(Boolean).join(' '));
  }
  for (const [key, t] of s.tables) if (t['table_id'] !== 0) lines.push(`table ${key} ${t['name'] as string}`);
  for (const [key, routes] of s.routes) {
    for (const [prefix, r] of routes) {
      if (s.systemRoutes.has(`${key}|${prefix}`)) continue;
      const paths = (r['paths'] as VppFields[]).map((p) => pathText(p, name));
      lines.push(`route ${key} ${prefix} ${paths.join(', ')}`);
    }
  }
  for (const n of s.neighbors.values())
    lines.push(
      `neighbor ${name(n['sw_if_index'] as number)} ${fromAddress(n['ip_address'] as VppFields)} ${macString(n['mac_address'] as Uint8Array)}`,
    );
  for (const key of s.proxyArp.keys()) lines.push(`proxy-arp ${key}`);
  if (s.nat.enabled) lines.push('nat44 enabled');
  for (const [sw, flags] of s.nat.interfaces)
    lines.push(`nat44 ${name(sw)}${flags & 32 ? ' inside' : ''}${flags & 16 ? ' outside' : ''}`);
  for (const ip of s.nat.addresses.keys()) lines.push(`nat44 pool ${ip}`);
  for (const ip of s.nat.twiceNatAddresses.keys()) lines.push(`nat44 twice-nat pool ${ip}`);
  for (const [key, m] of s.nat.lb) {
    const locals = (m['locals'] as VppFields[]).map(
      (l) => `${ip4String(l['addr'] as Uint8Array)}:${l['port'] as number}*${l['probability'] as number}`,
    );
    lines.push(
      `nat44 lb ${key} -> ${locals.join(' ')} affinity ${m['affinity'] as number}${flagsText(m)} tag ${m['tag'] as string}`,
    );
  }
  for (const [key, m] of s.nat.static)
    lines.push(
      `nat44 static ${key} -> ${ip4String(m['local_ip_address'] as Uint8Array)}:${m['local_port'] as number}${flagsText(m)} tag ${m['tag'] as string}`,
    );
  for (const key of s.nat.identity.keys()) lines.push(`nat44 identity ${key}`);
  for (const [sw, on] of s.features) for (const f of on) lines.push(`feature ${f} ${name(sw)}`);
  for (const sw of s.cnat.features) lines.push(`cnat feature ${name(sw)}`);
  const snat = s.cnat.snat;
  if (snat !== null) {
    lines.push(`cnat snat ${ip4String(snat.ip4)} policy ${snat.policy}`);
    for (const sw of snat.pods) lines.push(`cnat pod ${name(sw)}`);
  }
  for (const [id, t] of s.cnat.translations) {
    const ep = (e: VppFields): string => `${fromAddress(e['addr'] as VppFields)}:${e['port'] as number}`;
    const paths = (t['paths'] as VppFields[]).map((p) => ep(p['dst_ep'] as VppFields)).sort();
    const hash = s.cnat.flowHash.get(id) ?? 0;
    lines.push(
      `cnat translation ${ep(t['vip'] as VppFields)}:${t['ip_proto'] as number} -> ${paths.join(' ')}${hash !== 0 ? ` hash ${hash}` : ''}`,
    );
  }
  for (const [index, a] of s.acls) lines.push(`acl ${index} ${a.tag} rules ${a.rules.length}`);
  for (const [sw, b] of s.aclBindings)
    lines.push(
      `acl-bind ${name(sw)} input ${b.acls.slice(0, b.nInput).join(',')} output ${b.acls.slice(b.nInput).join(',')}`,
    );
  return lines.sort().join('\n');
}

/** A mapping's twice-NAT and out2in-only flags, as ` out2in-only twice-nat` (or nothing). */
function flagsText(m: VppFields): string {
  const f = m['flags'] as number;
  const names = [
    f & 0x04 ? 'out2in-only' : '',
    f & 0x01 ? 'twice-nat' : '',
    f & 0x02 ? 'self-twice-nat' : '',
  ].filter(Boolean);
  return names.map((n) => ` ${n}`).join('');
}

function pathText(p: VppFields, name: (sw: number) => string): string {
  if (p['type'] === 1) return 'local';
  if (p['type'] === 2) return 'drop';
  if (p['type'] === 5) return 'icmp-unreachable';
  const nh = fromAddress({ af: 0, un: (p['nh'] as VppFields)['address'] });
  return `via ${name(p['sw_if_index'] as number)}${nh === '0.0.0.0' ? '' : ` ${nh}`}`;
}

/** Where a tunnel's decapsulated packets go: the input node's next by index. */
function decapText(s: FakeVppState, v: VppFields): string {
  const ip6 = (v['src_address'] as VppFields)['af'] === 1;
  const nexts = s.nodeNexts.get(ip6 ? 'vxlan6-input' : 'vxlan4-input') ?? [];
  return nexts[v['decap_next_index'] as number] ?? `#${v['decap_next_index'] as number}`;
}
