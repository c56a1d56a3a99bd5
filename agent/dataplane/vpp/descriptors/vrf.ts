// VRFs as VPP FIB tables, IPv4 and IPv6 with the same id, named `netloom:<network>` so
// retrieve can tell netloom's tables from tables someone else made (reported as external:
// they satisfy dependencies but are never deleted). VPP keeps tables apart unless a route says
// otherwise: a table holds only the routes netloom puts in it (and VPP's own special entries),
// so a network's pods reach nothing outside it.
//
// Besides the tables, each VRF gets an *anchor*: a loopback in the VRF holding a link-local
// address (169.254.1.1/32, the next hop the Linux driver gives extra interfaces), and proxy ARP
// over each of the network's IPv4 subnets in the VRF. An extra pod interface (no default route,
// `gateway: ''`) borrows the anchor's address — an interface with no address of its own or
// borrowed has IPv4 off in VPP and drops what it receives — and its pod side holds the whole
// network on-link, so proxy ARP must answer for every address of the network, not only for this
// node's block (which the pod gateway's range covers).
import { PREFIX, vrfKey } from '../../../items/keys.ts';
import { vrfDependencies } from '../../../items/dependencies.ts';
import type { Vrf } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import type { FibCalls } from '../calls/fib.ts';
import type { InterfaceCalls, VppInterface } from '../calls/interfaces.ts';
import { MAX_TAG, tagOf } from '../naming.ts';
import { check, hostRange4, isCidr, isIp4 } from '../validate.ts';
import { addressOf } from '../../../../lib/cidr.ts';

/** Tables netloom makes are named `netloom:<network>`. */
export const VRF_NAME_PREFIX = 'netloom:';
const NAME_PREFIX = VRF_NAME_PREFIX;

/** The anchor's address in every VRF: link-local, never a pod's or a gateway's. */
export const VRF_ANCHOR_ADDRESS = '169.254.1.1/32';

export const vrfTableName = (v: Vrf): string => `${NAME_PREFIX}${v.network}`.slice(0, MAX_TAG);

/** What pod interfaces read from an applied VRF: the anchor they borrow an address from. */
export interface VrfMeta {
  anchorSwIfIndex: number;
}

/** The anchor loopback's MAC: locally administered, 02:fd and the VRF id. */
export const anchorMac = (vrf: number): string =>
  ['02', 'fd', ...[24, 16, 8, 0].map((s) => ((vrf >>> s) & 0xff).toString(16).padStart(2, '0'))].join(':');

/** The proxy-ARP ranges of a VRF: the hosts of each IPv4 subnet. */
const rangesOf = (v: Vrf): { low: string; hi: string }[] =>
  v.subnets.filter((s) => isCidr(s) && isIp4(addressOf(s))).map((s) => hostRange4(s));

export interface VrfPorts {
  fib: Pick<FibCalls, 'addTable' | 'deleteTable' | 'tables'>;
  interfaces: Pick<
    InterfaceCalls,
    | 'createLoopback'
    | 'deleteLoopback'
    | 'setTag'
    | 'setVrf'
    | 'addAddress'
    | 'setUp'
    | 'proxyArpRange'
    | 'proxyArpRanges'
    | 'list'
    | 'addresses'
    | 'vrf'
  >;
}

export function vrfDescriptor(ports: VrfPorts): Descriptor<Vrf, VrfMeta> {
  const { fib, interfaces } = ports;

  const setRanges = async (v: Vrf, ranges: readonly { low: string; hi: string }[], add: boolean) => {
    for (const r of ranges) await interfaces.proxyArpRange(v.id, r.low, r.hi, add);
  };

  const createAnchor = async (key: string, v: Vrf): Promise<number> => {
    const sw = await interfaces.createLoopback(anchorMac(v.id));
    try {
      await interfaces.setTag(sw, tagOf(key));
      // The table first: VPP refuses a table change on an interface that has an address.
      await interfaces.setVrf(sw, v.id);
      await interfaces.addAddress(sw, VRF_ANCHOR_ADDRESS);
      await interfaces.setUp(sw, true);
    } catch (err) {
      await interfaces.deleteLoopback(sw).catch(() => undefined);
      throw err;
    }
    return sw;
  };

  return {
    name: 'vrf',
    keyPrefix: PREFIX.vrf,

    validate(key, v) {
      check(key, [
        !(Number.isInteger(v.id) && v.id > 0 && v.id < 2 ** 32) &&
          `id ${v.id} out of range (VRF 0 is implicit)`,
        key !== vrfKey(v.id) && 'key does not match the id',
        (typeof v.network !== 'string' || v.network === '') && 'network is empty',
        !Array.isArray(v.subnets) && 'subnets is not a list',
        ...(Array.isArray(v.subnets) ? v.subnets : []).map(
          (s) => !isCidr(s) && `subnet ${JSON.stringify(s)} is not a CIDR`,
        ),
      ]);
    },

    dependencies: (_key, v) => vrfDependencies(v),

    // The tables' name is fixed at creation (VPP keeps the first name): another network
    // under the same id is a new VRF. Subnets change in place (proxy-ARP ranges only).
    updateWithRecreate: (_key, a, b) => a.id !== b.id || vrfTableName(a) !== vrfTableName(b),

    async create(key, v) {
      await fib.addTable(v.id, false, vrfTableName(v));
      await fib.addTable(v.id, true, vrfTableName(v));
      let sw: number | undefined;
      try {
        sw = await createAnchor(key, v);
        await setRanges(v, rangesOf(v), true);
      } catch (err) {
        await setRanges(v, rangesOf(v), false).catch(() => undefined);
        if (sw !== undefined) await interfaces.deleteLoopback(sw).catch(() => undefined);
        await fib.deleteTable(v.id, true).catch(() => undefined);
        await fib.deleteTable(v.id, false).catch(() => undefined);
        throw err;
      }
      return { anchorSwIfIndex: sw };
    },

    async update(key, old, v, meta) {
      const had = new Set(rangesOf(old).map((r) => `${r.low}-${r.hi}`));
      const want = new Set(rangesOf(v).map((r) => `${r.low}-${r.hi}`));
      await setRanges(
        v,
        rangesOf(v).filter((r) => !had.has(`${r.low}-${r.hi}`)),
        true,
      );
      await setRanges(
        old,
        rangesOf(old).filter((r) => !want.has(`${r.low}-${r.hi}`)),
        false,
      );
      // Retrieve may report a VRF whose anchor is gone as only missing ranges: recreate it.
      const anchor = meta?.anchorSwIfIndex ?? (await findAnchor(interfaces, key))?.swIfIndex;
      return { anchorSwIfIndex: anchor ?? (await createAnchor(key, v)) };
    },

    async delete(key, v, meta) {
      // Every range of the table, not only the value's: a VRF found without its desired value
      // (its network removed while the agent was down) does not know its subnets. Its address
      // items depend on it, so their ranges went first.
      const ranges = (await interfaces.proxyArpRanges()).filter((r) => r.vrf === v.id);
      await setRanges(v, ranges, false);
      const sw = meta?.anchorSwIfIndex ?? (await findAnchor(interfaces, key))?.swIfIndex;
      if (sw !== undefined) await interfaces.deleteLoopback(sw);
      await fib.deleteTable(v.id, true);
      await fib.deleteTable(v.id, false);
    },

    async retrieve(ctx) {
      const tables = await fib.tables();
      const v6 = new Set(tables.filter((t) => t.ipv6).map((t) => t.id));
      const anchors = new Map<string, VppInterface>();
      for (const itf of await interfaces.list())
        if (itf.tag.startsWith(PREFIX.vrf)) anchors.set(itf.tag, itf);
      const ranges = new Set((await interfaces.proxyArpRanges()).map((r) => `${r.vrf}/${r.low}-${r.hi}`));
      const out: Retrieved<Vrf, VrfMeta>[] = [];
      for (const t of tables) {
        if (t.ipv6 || t.id === 0) continue;
        const key = vrfKey(t.id);
        const want = ctx.desired.get(key);
        const anchor = anchors.get(tagOf(key));
        anchors.delete(tagOf(key));
        const meta = anchor === undefined ? undefined : { anchorSwIfIndex: anchor.swIfIndex };
        if (!t.name.startsWith(NAME_PREFIX)) {
          out.push({ key, value: want ?? { id: t.id, network: t.name, subnets: [] }, origin: 'external' });
          continue;
        }
        const found: Vrf = {
          id: t.id,
          network: t.name.slice(NAME_PREFIX.length) + (v6.has(t.id) ? '' : ' (no IPv6 table)'),
          subnets: [],
        };
        if (want !== undefined && vrfTableName(want) === t.name && v6.has(t.id)) {
          const anchorOk = anchor !== undefined && (await anchorAsDesired(interfaces, anchor, t.id));
          // Subnets whose proxy-ARP range is missing are left out: the update puts them back.
          const subnets = want.subnets.filter((s) => {
            if (!isCidr(s) || !isIp4(addressOf(s))) return true;
            const r = hostRange4(s);
            return ranges.has(`${t.id}/${r.low}-${r.hi}`);
          });
          // A broken anchor is not repairable in place (pods borrow its address): recreate.
          out.push({
            key,
            value: anchorOk ? { ...want, subnets } : { ...found, network: `${want.network} (no anchor)` },
            ...(anchorOk ? { metadata: meta } : meta === undefined ? {} : { metadata: meta }),
            origin: 'netloom',
          });
        } else {
          out.push({
            key,
            value: found,
            ...(meta === undefined ? {} : { metadata: meta }),
            origin: 'netloom',
          });
        }
      }
      // An anchor left without its table (the table was removed by hand): netloom's, to delete.
      for (const [tag, itf] of anchors) {
        const id = Number(tag.slice(PREFIX.vrf.length));
        if (!Number.isInteger(id) || id <= 0) continue;
        out.push({
          key: vrfKey(id),
          value: { id, network: '(no table)', subnets: [] },
          metadata: { anchorSwIfIndex: itf.swIfIndex },
          origin: 'netloom',
        });
      }
      return out;
    },
  };
}

async function findAnchor(
  interfaces: Pick<InterfaceCalls, 'list'>,
  key: string,
): Promise<VppInterface | undefined> {
  return (await interfaces.list()).find((i) => i.tag === tagOf(key));
}

async function anchorAsDesired(
  interfaces: Pick<InterfaceCalls, 'addresses' | 'vrf'>,
  itf: VppInterface,
  vrf: number,
): Promise<boolean> {
  if (!itf.up || itf.mac !== anchorMac(vrf)) return false;
  if ((await interfaces.vrf(itf.swIfIndex)) !== vrf) return false;
  return (await interfaces.addresses(itf.swIfIndex)).includes(VRF_ANCHOR_ADDRESS);
}
