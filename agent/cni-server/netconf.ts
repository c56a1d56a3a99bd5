// The few fields the agent reads from the plugin's network config (the shim forwards stdin
// verbatim): DNS settings for the result, GC's valid attachments under both spellings the
// spec has used, CHECK's prevResult addresses. Malformed JSON yields nothing here: the shim
// has already refused it, and the agent answers on what it knows.
import { addressOf } from '../../lib/cidr.ts';
import { jsonObjectOf } from '../../lib/json.ts';
import type { Dns } from '../../proto/gen/netloom/cni/v1/Dns.ts';

const parse = (text: string): Record<string, unknown> => jsonObjectOf(text) ?? {};

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

export function dnsOf(networkConfig: string): Dns | undefined {
  const d = parse(networkConfig)['dns'];
  if (typeof d !== 'object' || d === null) return undefined;
  const o = d as Record<string, unknown>;
  return {
    nameservers: strings(o['nameservers']),
    domain: typeof o['domain'] === 'string' ? o['domain'] : '',
    search: strings(o['search']),
    options: strings(o['options']),
  };
}

/** `cni.dev/valid-attachments` (spec text) and `cni.dev/attachments` (the v1.1.0 tag), merged. */
export function validAttachmentsOf(networkConfig: string): { containerId: string; ifname: string }[] {
  const conf = parse(networkConfig);
  const out: { containerId: string; ifname: string }[] = [];
  for (const field of ['cni.dev/valid-attachments', 'cni.dev/attachments']) {
    const list = conf[field];
    if (!Array.isArray(list)) continue;
    for (const v of list) {
      const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
      if (typeof o['containerID'] === 'string' && typeof o['ifname'] === 'string')
        out.push({ containerId: o['containerID'], ifname: o['ifname'] });
    }
  }
  return out;
}

/** Plain IPs of prevResult.ips, or undefined without a prevResult. */
export function prevResultIps(networkConfig: string): string[] | undefined {
  const prev = parse(networkConfig)['prevResult'];
  if (typeof prev !== 'object' || prev === null) return undefined;
  const ips = (prev as Record<string, unknown>)['ips'];
  if (!Array.isArray(ips)) return [];
  return ips
    .map((i) => (i as { address?: unknown }).address)
    .filter((a): a is string => typeof a === 'string')
    .map(addressOf)
    .filter((x) => x !== '');
}
