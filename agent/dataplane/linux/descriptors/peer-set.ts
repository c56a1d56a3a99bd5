// Peer sets in nftables (layout: ../policy-plan.ts): one PeerSet item is an IPv4 and an IPv6 set
// of addresses in the policy table, which the pods' chains name. A change adds and deletes only
// the members that differ, so a new pod or a label change costs its own elements, and no rule
// is rewritten. The metadata is the members the item was written with; when the table turns
// out to hold something else (changed by hand since the last retrieve), the change is
// recomputed from what the table holds.
import { isIp } from '../../../../lib/cidr.ts';
import { PREFIX, peerSetKey } from '../../../items/keys.ts';
import type { PeerSet } from '../../../items/values.ts';
import type { Descriptor, Retrieved } from '../../../scheduler/descriptor.ts';
import type { NftTablePort } from '../ports.ts';
import {
  peerSetComplete,
  peerSetOps,
  peerSetsIn,
  planPeerSet,
  samePeerSet,
  type PeerSetObjects,
} from '../policy-plan.ts';
import { check } from '../validate.ts';
import { nftChange } from './nft-change.ts';

export function peerSetDescriptor(ports: { policies: NftTablePort }): Descriptor<PeerSet, PeerSetObjects> {
  const { policies } = ports;

  // Old → next; when the table held something else than `old`, redone from what it holds.
  const change = nftChange(policies, peerSetOps, (t, key) => peerSetsIn(t, [key]).get(key));

  return {
    name: 'peer-set',
    keyPrefix: PREFIX.peerSet,
    // Different keys own disjoint sets; the port coalesces what starts together: the sets one
    // label change touches are updated in place, alongside each other, in one nft process.
    concurrent: true,

    validate(key, v) {
      const idOk = typeof v.id === 'string' && v.id !== '' && !v.id.includes('/');
      check(key, [
        !idOk && `id ${JSON.stringify(v.id)} is not a key part`,
        idOk && key !== peerSetKey(v.id) && 'key does not match id',
        ...v.addresses.map((a) => !isIp(a) && `address ${JSON.stringify(a)} is not an IP address`),
      ]);
    },

    // The same members in any order or spelling (IPv6 compression) are the same set.
    equivalent: (_key, a, b) => a.id === b.id && samePeerSet(planPeerSet(a), planPeerSet(b)),

    async create(key, v) {
      const next = planPeerSet(v);
      await change(key, undefined, next);
      return next;
    },

    async update(key, old, v, meta) {
      const next = planPeerSet(v);
      await change(key, meta ?? planPeerSet(old), next);
      return next;
    },

    async delete(key, v, meta) {
      await change(key, meta ?? planPeerSet(v), undefined);
    },

    async retrieve(ctx) {
      const { table } = await policies.list();
      if (!table) return [];
      const out: Retrieved<PeerSet, PeerSetObjects>[] = [];
      for (const [key, found] of peerSetsIn(table, ctx.desired.keys())) {
        const want = ctx.desired.get(key);
        if (want && peerSetComplete(table, key) && samePeerSet(found, planPeerSet(want))) {
          out.push({ key, value: want, metadata: found, origin: 'netloom' });
          continue;
        }
        // As found; a missing family set is shown by an id that cannot be desired.
        const id = peerSetComplete(table, key) ? key.slice(PREFIX.peerSet.length) : '';
        out.push({
          key,
          value: { id, addresses: [...found.v4, ...found.v6] },
          metadata: found,
          origin: 'netloom',
        });
      }
      return out;
    },
  };
}
