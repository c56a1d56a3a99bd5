// rtnetlink messages for wiring a pod (netlink/helper.ts sends them), pure: each function returns
// the bytes of one request, which the kernel answers with an ack or an error. Layouts from the
// kernel's uapi headers (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h, neighbour.h,
// veth.h); numbers are host order, which on every platform netloom runs on is little-endian.
// What each request is in iproute2's terms is named beside it: the two paths must leave the
// kernel in the same state (netlink.test.ts reads both back with iproute2).
import { familyOf, ipToBigInt } from '../../../../lib/cidr.ts';

export const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const RTM_NEWNEIGH = 28;

const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;

const IFF_UP = 0x1;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINKINFO = 18;
const IFLA_IFALIAS = 20;
const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_F_NODAD = 0x02;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_TABLE = 15;
const RT_TABLE_MAIN = 254;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RTN_UNICAST = 1;
/** What `ip route` writes when no `proto` is given. */
export const RTPROT_BOOT = 3;
const RTNH_F_ONLINK = 0x4;

const NDA_DST = 1;
const NDA_LLADDR = 2;
const NUD_PERMANENT = 0x80;

/** An attribute: its type and payload, or nested attributes. */
type Attr = [type: number, payload: Uint8Array | Attr[]];

const align4 = (n: number): number => (n + 3) & ~3;

function attrBytes(attrs: readonly Attr[]): Uint8Array {
  const parts = attrs.map(([type, payload]) => {
    const body = payload instanceof Uint8Array ? payload : attrBytes(payload);
    const out = new Uint8Array(align4(4 + body.length));
    const v = new DataView(out.buffer);
    v.setUint16(0, 4 + body.length, true);
    v.setUint16(2, type, true);
    out.set(body, 4);
    return out;
  });
  return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};
/** A C string attribute (NUL-terminated). */
const cstr = (s: string): Uint8Array => concat([new TextEncoder().encode(s), Uint8Array.of(0)]);

export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p)))
    throw new Error(`${JSON.stringify(mac)} is not a MAC address`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** An address's bytes and family; throws on anything that is not one. */
export function ipBytes(ip: string): { family: number; bytes: Uint8Array } {
  const f = familyOf(ip);
  if (f === undefined) throw new Error(`${JSON.stringify(ip)} is not an IP address`);
  const n = ipToBigInt(ip);
  const len = f === 4 ? 4 : 16;
  const bytes = new Uint8Array(len);
  for (let i = 0; i < len; i++) bytes[i] = Number((n >> BigInt(8 * (len - 1 - i))) & 0xffn);
  return { family: f === 4 ? AF_INET : AF_INET6, bytes };
}

function prefix(cidr: string): { family: number; bytes: Uint8Array; len: number } {
  const [ip = '', len] = cidr.split('/');
  const a = ipBytes(ip);
  const bits = len === undefined ? a.bytes.length * 8 : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > a.bytes.length * 8)
    throw new Error(`${JSON.stringify(cidr)} has no valid prefix length`);
  return { ...a, len: bits };
}

/** One request: header (length, type, flags, sequence; port 0 = the kernel) then the body. */
function message(type: number, flags: number, seq: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags | NLM_F_REQUEST | NLM_F_ACK, true);
  v.setUint32(8, seq, true);
  out.set(body, 16);
  return out;
}

function ifinfomsg(index: number, flags = 0, change = 0): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, AF_UNSPEC);
  v.setInt32(4, index, true);
  v.setUint32(8, flags, true);
  v.setUint32(12, change, true);
  return b;
}

export interface VethSpec {
  name: string;
  mac: string;
  mtu: number;
  peerName: string;
  peerMac: string;
  /** An open descriptor of the peer's network namespace. */
  peerNetnsFd: number;
}

/** `ip link add NAME address MAC mtu MTU type veth peer name P address PMAC mtu MTU netns NS`. */
export function newVeth(seq: number, s: VethSpec): Uint8Array {
  const peer = concat([
    ifinfomsg(0),
    attrBytes([
      [IFLA_IFNAME, cstr(s.peerName)],
      [IFLA_ADDRESS, macBytes(s.peerMac)],
      [IFLA_MTU, u32(s.mtu)],
      [IFLA_NET_NS_FD, u32(s.peerNetnsFd)],
    ]),
  ]);
  const attrs: Attr[] = [
    [IFLA_IFNAME, cstr(s.name)],
    [IFLA_ADDRESS, macBytes(s.mac)],
    [IFLA_MTU, u32(s.mtu)],
    [
      IFLA_LINKINFO,
      [
        [IFLA_INFO_KIND, cstr('veth')],
        [IFLA_INFO_DATA, [[VETH_INFO_PEER, peer]]],
      ],
    ],
  ];
  return message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, seq, concat([ifinfomsg(0), attrBytes(attrs)]));
}

/** `ip link del NAME`. */
export function delLink(seq: number, name: string): Uint8Array {
  return message(RTM_DELLINK, 0, seq, concat([ifinfomsg(0), attrBytes([[IFLA_IFNAME, cstr(name)]])]));
}

/** RTM_GETLINK of one link by name: the answer carries its index (`linkIndexOf`). */
export function getLink(seq: number, name: string): Uint8Array {
  return message(RTM_GETLINK, 0, seq, concat([ifinfomsg(0), attrBytes([[IFLA_IFNAME, cstr(name)]])]));
}

/** `ip link set dev INDEX up` and, with `alias`, `… alias ALIAS`. */
export function setLinkUp(seq: number, index: number, alias?: string): Uint8Array {
  const attrs: Attr[] = alias === undefined ? [] : [[IFLA_IFALIAS, cstr(alias)]];
  return message(RTM_NEWLINK, 0, seq, concat([ifinfomsg(index, IFF_UP, IFF_UP), attrBytes(attrs)]));
}

/** `ip addr add CIDR dev INDEX` (IPv6 with `nodad`). */
export function addAddress(seq: number, index: number, cidr: string): Uint8Array {
  const p = prefix(cidr);
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, p.family);
  v.setUint8(1, p.len);
  v.setUint8(2, p.family === AF_INET6 ? IFA_F_NODAD : 0);
  v.setUint32(4, index, true);
  return message(
    RTM_NEWADDR,
    NLM_F_CREATE | NLM_F_EXCL,
    seq,
    concat([
      b,
      attrBytes([
        [IFA_LOCAL, p.bytes],
        [IFA_ADDRESS, p.bytes],
      ]),
    ]),
  );
}

export interface RouteSpec {
  dst: string;
  index: number;
  gateway?: string;
  onlink?: boolean;
  /** 'main' or a table number. */
  table: 'main' | number;
  protocol: number;
}

/**
 * `ip route replace DST [via GW] dev INDEX [onlink] [scope link] table T proto P`: scope link
 * without a gateway, as iproute2 gives a device route.
 */
export function replaceRoute(seq: number, r: RouteSpec): Uint8Array {
  const d = prefix(r.dst === 'default' ? '0.0.0.0/0' : r.dst === '::/0' ? '::/0' : r.dst);
  const table = r.table === 'main' ? RT_TABLE_MAIN : r.table;
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint8(0, d.family);
  v.setUint8(1, d.len);
  v.setUint8(4, table < 256 ? table : 0);
  v.setUint8(5, r.protocol);
  v.setUint8(6, r.gateway === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
  v.setUint8(7, RTN_UNICAST);
  v.setUint32(8, r.onlink === true ? RTNH_F_ONLINK : 0, true);
  const attrs: Attr[] = [];
  if (d.len > 0) attrs.push([RTA_DST, d.bytes]);
  if (r.gateway !== undefined) attrs.push([RTA_GATEWAY, ipBytes(r.gateway).bytes]);
  attrs.push([RTA_OIF, u32(r.index)], [RTA_TABLE, u32(table)]);
  return message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, seq, concat([b, attrBytes(attrs)]));
}

/** `ip neigh replace IP lladdr MAC dev INDEX nud permanent`. */
export function replaceNeighbour(seq: number, index: number, ip: string, mac: string): Uint8Array {
  const a = ipBytes(ip);
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint8(0, a.family);
  v.setInt32(4, index, true);
  v.setUint16(8, NUD_PERMANENT, true);
  return message(
    RTM_NEWNEIGH,
    NLM_F_CREATE | NLM_F_REPLACE,
    seq,
    concat([
      b,
      attrBytes([
        [NDA_DST, a.bytes],
        [NDA_LLADDR, macBytes(mac)],
      ]),
    ]),
  );
}

/** One message of a reply: its type, sequence and body. */
export interface Reply {
  type: number;
  seq: number;
  body: Uint8Array;
}

/** Splits what one recv returned into messages. */
export function replies(buf: Uint8Array): Reply[] {
  const out: Reply[] = [];
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at + 16 <= buf.length) {
    const len = v.getUint32(at, true);
    if (len < 16 || at + len > buf.length) break;
    out.push({
      type: v.getUint16(at + 4, true),
      seq: v.getUint32(at + 8, true),
      body: buf.subarray(at + 16, at + len),
    });
    at += align4(len);
  }
  return out;
}

/** An NLMSG_ERROR's errno (0: the ack). */
export function errnoOf(r: Reply): number {
  const e = new DataView(r.body.buffer, r.body.byteOffset, r.body.byteLength).getInt32(0, true);
  return e === 0 ? 0 : -e;
}

/** The index an RTM_NEWLINK answer (to `getLink`) carries. */
export function linkIndexOf(r: Reply): number {
  return new DataView(r.body.buffer, r.body.byteOffset, r.body.byteLength).getInt32(4, true);
}
