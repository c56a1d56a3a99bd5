// Rebuilding the node's attachment records from its IPAM records (pure). Each ipam/<node>/<ip>
// entry names the pod, container, interface, network and network namespace of one attached
// interface, so a lost or torn attachments file costs nothing: the agent rebuilds the records,
// and its first resync finds the data plane already as they describe (nothing is re-wired).
// Entries written before IPAM kept the namespace path cannot be rebuilt: they are reported, and
// their addresses stay held until a DEL, a CNI GC or the leak collector releases them.
import type { Attachment } from './attachment.ts';

export interface IpamRecordLike {
  ip: string;
  entry: {
    namespace: string;
    pod: string;
    containerId: string;
    ifname: string;
    network: string;
    netns: string;
    extra?: boolean;
    mac?: string;
  };
}

/** A namespace path as a runtime gives one: absolute, printable, no `..` step. */
export function isNetnsPath(p: string): boolean {
  const printable = [...p].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f);
  return p.startsWith('/') && p.length <= 4096 && printable && !p.split('/').includes('..');
}

export function rebuildAttachments(records: readonly IpamRecordLike[]): {
  rebuilt: Attachment[];
  /** `ip containerId/ifname: why` for each record that could not become an attachment. */
  skipped: string[];
} {
  const rebuilt: Attachment[] = [];
  const skipped: string[] = [];
  for (const { ip, entry: e } of records) {
    const why =
      e.netns === ''
        ? 'no namespace path recorded'
        : !isNetnsPath(e.netns)
          ? `namespace path ${JSON.stringify(e.netns)} refused`
          : [e.namespace, e.pod, e.containerId, e.ifname].includes('')
            ? 'incomplete entry'
            : '';
    if (why !== '') {
      skipped.push(`${ip} ${e.containerId}/${e.ifname}: ${why}`);
      continue;
    }
    rebuilt.push({
      containerId: e.containerId,
      ifname: e.ifname,
      namespace: e.namespace,
      pod: e.pod,
      netns: e.netns,
      ip,
      network: e.network,
      ...(e.extra === true ? { extra: true } : {}),
      ...(e.mac !== undefined && e.mac !== '' ? { mac: e.mac } : {}),
    });
  }
  return { rebuilt, skipped };
}
