// Peer sets on VPP: the ACL plugin has no address sets, so a set is no VPP object. Its members
// are the item's metadata, which the policy descriptor reads when it compiles (each member
// becomes a /32 or /128 in the rules that name the set). A member change is an in-place update,
// which the scheduler does not propagate to dependents, so the update asks the driver's
// PolicyAcls to re-program the ACLs of the policies naming the set before it returns.
//
// retrieve reports every valid desired set as held: nothing in VPP can drift from it, and its
// members as VPP really applies them are checked where they live, in the policies' ACLs (the
// policy retrieve compiles against these members and reports stale ACLs for repair). So a
// restarted agent recreates no set, and a change it missed while down is repaired by the
// policies it affects.
import { PREFIX, peerSetKey } from '../../../items/keys.ts';
import type { PeerSet } from '../../../items/values.ts';
import type { Descriptor } from '../../../scheduler/descriptor.ts';
import { check, isIp } from '../validate.ts';
import { appliedMembers, type PeerSetMeta, type PolicyAcls } from './policy-acls.ts';

export interface PeerSetPorts {
  acls: Pick<PolicyAcls, 'setChanged'>;
}

function problems(key: string, v: PeerSet): (string | false)[] {
  return [
    (v.id === '' || v.id.includes('/') || key !== peerSetKey(v.id)) &&
      `id ${JSON.stringify(v.id)} does not match the key`,
    ...v.addresses.map((a) => !isIp(a) && `member ${JSON.stringify(a)} is not an address`),
  ];
}

export function peerSetDescriptor(ports: PeerSetPorts): Descriptor<PeerSet, PeerSetMeta> {
  const meta = (v: PeerSet): PeerSetMeta => ({ addresses: v.addresses });
  return {
    name: 'peer-set',
    keyPrefix: PREFIX.peerSet,

    validate: (key, v) => check(key, problems(key, v)),

    // No policy names a set before it exists (it is their dependency): nothing to re-program.
    create: (_key, v) => Promise.resolve(meta(v)),

    async update(_key, _old, v, _meta, ctx) {
      const others = appliedMembers(ctx);
      await ports.acls.setChanged(v.id, (id) => (id === v.id ? v.addresses : others(id)));
      return meta(v);
    },

    // Its policies are removed first (they depend on it): nothing is left that names it.
    delete: () => Promise.resolve(),

    retrieve: (ctx) =>
      Promise.resolve(
        [...ctx.desired]
          .filter(([key, v]) => problems(key, v).every((p) => p === false))
          .map(([key, v]) => ({ key, value: v, metadata: meta(v), origin: 'netloom' as const })),
      ),
  };
}
