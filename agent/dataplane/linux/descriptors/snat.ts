// Source NAT for traffic leaving the cluster: one nft rule per item (masquerade, or snat to a
// fixed address), the item key as the rule's comment so retrieve maps rules back to items.
import { PREFIX, snatKey } from '../../../items/keys.ts';
import { snatDependencies } from '../../../items/dependencies.ts';
import type { SourceNat } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import type { NatPort, NatRule } from '../ports.ts';
import { check, isCidr, isIp, sameSet } from '../validate.ts';

/**
 * Why a custom network's source NAT is refused. Its pods' traffic out would have to fall
 * through from the VRF's table to main, and the replies — de-NATed in prerouting to a pod
 * address of the network, arriving on the uplink — would be routed in main, where that
 * network's subnets are deliberately unreachable; steering them back needs a conntrack mark
 * and an fwmark rule, which this driver does not have yet.
 */
const SNAT_VRF_PROBLEM =
  'source NAT in a custom network (vrf ≠ 0) is not implemented by the linux driver: replies could not be routed back into the VRF';

export interface SnatMeta {
  handle: number;
}

const ruleOf = (key: string, v: SourceNat): NatRule => ({
  source: v.source,
  except: v.except,
  toAddress: v.toAddress,
  comment: key,
});

export function snatDescriptor(ports: { nat: NatPort }): Descriptor<SourceNat, SnatMeta> {
  const handleOf = async (key: string, meta: SnatMeta | undefined): Promise<number | undefined> =>
    meta && meta.handle >= 0 ? meta.handle : (await ports.nat.list()).find((r) => r.comment === key)?.handle;

  return {
    name: 'snat',
    keyPrefix: PREFIX.snat,

    validate(key, v) {
      check(key, [
        v.vrf !== 0 && SNAT_VRF_PROBLEM,
        !isCidr(v.source) && `source ${JSON.stringify(v.source)} is not a CIDR`,
        ...v.except.map((c) => !isCidr(c) && `except ${JSON.stringify(c)} is not a CIDR`),
        v.toAddress !== '' && !isIp(v.toAddress) && `toAddress ${JSON.stringify(v.toAddress)} is not an IP`,
        key !== snatKey(v.vrf, v.source) && 'key does not match the source',
      ]);
    },

    equivalent: (_key, a, b) =>
      a.vrf === b.vrf && a.source === b.source && a.toAddress === b.toAddress && sameSet(a.except, b.except),

    dependencies: (_key, v) => snatDependencies(v),

    async create(key, v) {
      return { handle: await ports.nat.add(ruleOf(key, v)) };
    },

    async update(key, _old, v, meta) {
      const handle = await handleOf(key, meta);
      if (handle === undefined) return { handle: await ports.nat.add(ruleOf(key, v)) };
      await ports.nat.replace(handle, ruleOf(key, v));
      return { handle };
    },

    async delete(key, _v, meta) {
      const handle = await handleOf(key, meta);
      if (handle !== undefined) await ports.nat.remove(handle);
    },

    async retrieve() {
      const out: Retrieved<SourceNat, SnatMeta>[] = [];
      const seen = new Set<string>();
      for (const r of await ports.nat.list()) {
        if (!r.comment.startsWith(PREFIX.snat) || seen.has(r.comment)) continue;
        seen.add(r.comment);
        out.push({
          key: r.comment,
          value: { vrf: 0, source: r.source, except: r.except, toAddress: r.toAddress },
          metadata: { handle: r.handle },
          origin: 'netloom',
        });
      }
      return out;
    },
  };
}
