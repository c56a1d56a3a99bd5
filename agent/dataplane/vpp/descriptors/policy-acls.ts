// The ACLs of every applied pod policy, kept by the driver: the one place that compiles a
// PodPolicy and writes its two ACLs (policy.ts on create/update, peer-set.ts when members
// change). VPP ACLs have no address sets, so a set's members are written into every rule that
// names it; when they change, the scheduler updates only the peer-set item (its dependents are
// not revisited on an in-place update), so the set descriptor asks this registry to re-program
// the ACLs of the policies naming the set. Each direction is written only when its compiled
// rules differ from what was last written, so a set change costs one acl_add_replace per ACL
// whose rules it really changes, always in place (the pod is never unfiltered meanwhile).
import { peerSetKey } from '../../../items/keys.ts';
import type { PodPolicy } from '../../../items/values.ts';
import type { ApplyContext } from '../../../scheduler/descriptor.ts';
import { DataPlaneError } from '../../../scheduler/errors.ts';
import type { AclCalls, AclRule } from '../calls/acl.ts';
import { tagOf } from '../naming.ts';
import {
  compilePolicy,
  setsOf,
  type CompiledPolicy,
  type Direction,
  type PolicyEnv,
} from '../policy-rules.ts';

export interface PolicyAclIndexes {
  egressAcl: number;
  ingressAcl: number;
}

/** The peer-set item's metadata: its members, where policies read them when compiling. */
export interface PeerSetMeta {
  addresses: readonly string[];
}

interface Programmed {
  value: PodPolicy;
  nodeAddresses: readonly string[];
  acls: PolicyAclIndexes;
  /** The rules last written; undefined after a failed write (the next one writes both ACLs). */
  rules: CompiledPolicy | undefined;
  sets: Set<string>;
}

/** Members of a peer set, or undefined when its item is not applied. */
export type MembersOf = (id: string) => readonly string[] | undefined;

/** Members as the scheduler holds them: each applied peer set's metadata. */
export const appliedMembers =
  (ctx: Pick<ApplyContext, 'metadata'>): MembersOf =>
  (id) =>
    ctx.metadata<PeerSetMeta>(peerSetKey(id))?.addresses;

/** ACL tag suffixes: `<policy key>#eg`, `<policy key>#in`. */
export const TAG_SUFFIX: Record<Direction, string> = { egress: '#eg', ingress: '#in' };
const INDEX: Record<Direction, keyof PolicyAclIndexes> = { egress: 'egressAcl', ingress: 'ingressAcl' };
const DIRECTIONS: readonly Direction[] = ['egress', 'ingress'];

/** Compiles `value`; throws (retriable) when a set it names is not applied. */
export function compileWith(
  value: PodPolicy,
  members: MembersOf,
  nodeAddresses: readonly string[],
): CompiledPolicy {
  const env: PolicyEnv = {
    nodeAddresses,
    members: (id) => {
      const m = members(id);
      if (m === undefined)
        throw new DataPlaneError(`policy: peer set ${id} is not applied yet`, { retriable: true });
      return m;
    },
  };
  return compilePolicy(value, env);
}

const sameRules = (a: readonly AclRule[], b: readonly AclRule[]): boolean =>
  JSON.stringify(a) === JSON.stringify(b);

export class PolicyAcls {
  private readonly acl: Pick<AclCalls, 'addReplace' | 'delete'>;
  private readonly programmed = new Map<string, Programmed>();

  constructor(acl: Pick<AclCalls, 'addReplace' | 'delete'>) {
    this.acl = acl;
  }

  /**
   * Writes the ACLs of `value`: replaces those given in `acls` in place (each only if its rules
   * changed since this registry last wrote it), creates the missing ones (index < 0 or absent).
   * A failed first write leaves no new ACL behind.
   */
  async program(
    key: string,
    value: PodPolicy,
    nodeAddresses: readonly string[],
    members: MembersOf,
    acls?: PolicyAclIndexes,
  ): Promise<PolicyAclIndexes> {
    const rules = compileWith(value, members, nodeAddresses);
    const before = this.programmed.get(key);
    const last =
      acls !== undefined && before !== undefined && sameIndexes(before.acls, acls) ? before.rules : undefined;
    const out: PolicyAclIndexes = { egressAcl: acls?.egressAcl ?? -1, ingressAcl: acls?.ingressAcl ?? -1 };
    const created: number[] = [];
    try {
      for (const d of DIRECTIONS) {
        const index = out[INDEX[d]];
        if (index >= 0 && last !== undefined && sameRules(last[d], rules[d])) continue;
        out[INDEX[d]] = await this.acl.addReplace(
          index >= 0 ? index : undefined,
          tagOf(key + TAG_SUFFIX[d]),
          rules[d],
        );
        if (index < 0) created.push(out[INDEX[d]]);
      }
    } catch (err) {
      for (const index of created) await this.acl.delete(index).catch(() => undefined);
      // Still tracked when its ACLs exist (a set change must reach it), but what they hold is
      // no longer known: the next write rewrites both.
      if (acls === undefined) this.programmed.delete(key);
      else this.programmed.set(key, { value, nodeAddresses, acls, rules: undefined, sets: setsOf(value) });
      throw err;
    }
    this.programmed.set(key, { value, nodeAddresses, acls: out, rules, sets: setsOf(value) });
    return out;
  }

  /** Records ACLs found in VPP exactly as `value` compiles (retrieve), without writing them. */
  adopt(
    key: string,
    value: PodPolicy,
    nodeAddresses: readonly string[],
    acls: PolicyAclIndexes,
    rules: CompiledPolicy,
  ): void {
    this.programmed.set(key, { value, nodeAddresses, acls, rules, sets: setsOf(value) });
  }

  forget(key: string): void {
    this.programmed.delete(key);
  }

  /** Before a retrieve: what VPP holds is about to be read again. */
  reset(): void {
    this.programmed.clear();
  }

  /**
   * Peer set `id` now has `members`: re-programs the ACLs of every policy naming it. Every
   * policy is tried; the first failure is thrown afterwards (the set's update is then retried,
   * which writes only what is still behind).
   */
  async setChanged(id: string, members: MembersOf): Promise<void> {
    const failures: unknown[] = [];
    for (const [key, p] of [...this.programmed]) {
      if (!p.sets.has(id)) continue;
      await this.program(key, p.value, p.nodeAddresses, members, p.acls).catch((err: unknown) =>
        failures.push(err),
      );
    }
    if (failures.length > 0) throw failures[0] as Error;
  }
}

const sameIndexes = (a: PolicyAclIndexes, b: PolicyAclIndexes): boolean =>
  a.egressAcl === b.egressAcl && a.ingressAcl === b.ingressAcl;
