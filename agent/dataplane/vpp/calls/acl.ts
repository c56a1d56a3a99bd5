// VPP calls for the ACL plugin: ACLs (replaced in place by index), and the per-interface
// lists (input ACLs first: traffic entering VPP from the interface; then output ACLs).
import { fromPrefix, toPrefix } from '../addresses.ts';
import type { VppFields } from '../api/field-codecs.ts';
import { ALL, GONE, tolerate, type VppApi } from '../vpp-api.ts';

export const ACL_DENY = 0;
export const ACL_PERMIT = 1;
export const ACL_PERMIT_REFLECT = 2;

/** One ACL rule in the driver's terms: prefixes as CIDRs, port (or ICMP type/code) ranges. */
export interface AclRule {
  action: number;
  src: string;
  dst: string;
  /** IP protocol number; 0 = any. */
  proto: number;
  srcPorts: [number, number];
  dstPorts: [number, number];
}

export interface VppAcl {
  index: number;
  tag: string;
  rules: AclRule[];
}

function ruleFields(r: AclRule): VppFields {
  return {
    is_permit: r.action,
    src_prefix: toPrefix(r.src),
    dst_prefix: toPrefix(r.dst),
    proto: r.proto,
    srcport_or_icmptype_first: r.srcPorts[0],
    srcport_or_icmptype_last: r.srcPorts[1],
    dstport_or_icmpcode_first: r.dstPorts[0],
    dstport_or_icmpcode_last: r.dstPorts[1],
  };
}

function ruleOf(f: VppFields): AclRule {
  return {
    action: f['is_permit'] as number,
    src: fromPrefix(f['src_prefix'] as VppFields),
    dst: fromPrefix(f['dst_prefix'] as VppFields),
    proto: f['proto'] as number,
    srcPorts: [f['srcport_or_icmptype_first'] as number, f['srcport_or_icmptype_last'] as number],
    dstPorts: [f['dstport_or_icmpcode_first'] as number, f['dstport_or_icmpcode_last'] as number],
  };
}

export class AclCalls {
  private readonly api: VppApi;

  constructor(api: VppApi) {
    this.api = api;
  }

  /** Creates an ACL (index undefined) or replaces one in place; returns its index. */
  async addReplace(index: number | undefined, tag: string, rules: readonly AclRule[]): Promise<number> {
    const r = await this.api.request('acl_add_replace', {
      acl_index: index ?? ALL,
      tag,
      r: rules.map(ruleFields),
    });
    return r['acl_index'] as number;
  }

  async delete(index: number): Promise<void> {
    await tolerate(this.api.request('acl_del', { acl_index: index }), GONE);
  }

  async list(): Promise<VppAcl[]> {
    const details = await this.api.dump('acl_dump', { acl_index: ALL });
    return details.map((d) => ({
      index: d['acl_index'] as number,
      tag: d['tag'] as string,
      rules: (d['r'] as VppFields[]).map(ruleOf),
    }));
  }

  async setInterfaceAcls(
    swIfIndex: number,
    input: readonly number[],
    output: readonly number[],
  ): Promise<void> {
    const op = this.api.request('acl_interface_set_acl_list', {
      sw_if_index: swIfIndex,
      n_input: input.length,
      acls: [...input, ...output],
    });
    // Clearing the lists of an interface that is gone is done already.
    await tolerate(op, input.length + output.length === 0 ? GONE : []);
  }

  async interfaceAcls(): Promise<Map<number, { input: number[]; output: number[] }>> {
    const details = await this.api.dump('acl_interface_list_dump', { sw_if_index: ALL });
    return new Map(
      details.map((d) => {
        const acls = d['acls'] as number[];
        const n = d['n_input'] as number;
        return [d['sw_if_index'] as number, { input: acls.slice(0, n), output: acls.slice(n) }];
      }),
    );
  }
}
