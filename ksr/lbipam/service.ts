// What the allocator needs to know of a Service, read from the raw object the service reflector
// already receives (no second watch): whether it wants a netloom address, which pool, which
// address it asks for, and what its status shows. LbServiceFeed wraps the service feed and keeps
// these for the services that matter: those wanting an address, and those whose status still
// shows one although they no longer do (type changed away from LoadBalancer).
import type { Family } from '../../lib/cidr.ts';
import type { Meta } from '../convert/common.ts';
import type { Feed, KubeObject } from '../feed.ts';
import { FeedTee, objectKey } from '../feed-tee.ts';

/** Annotation choosing the pool (default: the pool named `default`). */
export const POOL_ANNOTATION = 'netloom.io/lb-pool';
/** Annotation asking for one address (spec.loadBalancerIP, deprecated upstream, works too). */
export const IP_ANNOTATION = 'netloom.io/lb-ip';
export const DEFAULT_POOL = 'default';

export interface LbService {
  namespace: string;
  name: string;
  uid: string;
  /** creationTimestamp: older services win an exhausted pool, whichever leader decides. */
  created: string;
  /** type LoadBalancer, and loadBalancerClass unset or netloom's. */
  wants: boolean;
  /** The pool named by annotation; undefined: the default pool. */
  pool: string | undefined;
  /** The address asked for, as written (checked by the plan). */
  requested: string | undefined;
  /** spec.ipFamilies[0]: a single-stack IPv6 service gets an IPv6 address. */
  family: Family | undefined;
  /** status.loadBalancer.ingress[].ip as the API server holds it. */
  statusIps: string[];
}

interface RawService extends KubeObject {
  metadata?: Meta & { creationTimestamp?: string };
  spec?: { type?: string; loadBalancerClass?: string; loadBalancerIP?: string; ipFamilies?: string[] };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] | null } };
}

export const ownerOf = (s: { namespace: string; name: string }): string => `${s.namespace}/${s.name}`;

/** The allocator's view of a service; undefined for one it has nothing to do with. */
export function lbServiceOf(obj: KubeObject, lbClass: string): LbService | undefined {
  const { metadata: meta, spec, status } = obj as RawService;
  if (!meta?.name || !meta.namespace) return undefined;
  const cls = spec?.loadBalancerClass;
  const wants = spec?.type === 'LoadBalancer' && (cls === undefined || cls === null || cls === lbClass);
  const statusIps = (status?.loadBalancer?.ingress ?? [])
    .map((i) => i?.ip)
    .filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  // A LoadBalancer of another class: its status is another controller's business.
  if (!wants && (spec?.type === 'LoadBalancer' || statusIps.length === 0)) return undefined;
  const annotations = meta.annotations ?? {};
  const first = spec?.ipFamilies?.[0];
  return {
    namespace: meta.namespace,
    name: meta.name,
    uid: meta.uid ?? '',
    created: meta.creationTimestamp ?? '',
    wants,
    pool: annotations[POOL_ANNOTATION] || undefined,
    requested: annotations[IP_ANNOTATION] || spec?.loadBalancerIP || undefined,
    family: first === 'IPv4' ? 4 : first === 'IPv6' ? 6 : undefined,
    statusIps,
  };
}

/**
 * The service feed, passed through, with the allocator's view kept on the side (ksr/feed-tee.ts:
 * a service is never missing from `services` while it exists, so the allocator does not release
 * an address because of a gap). `onChange` when a view changed and after every relist.
 */
export class LbServiceFeed extends FeedTee<LbService> {
  private readonly lbClass: string;

  constructor(inner: Feed, lbClass: string, onChange: () => void) {
    super(inner, {
      viewOf: (obj) => lbServiceOf(obj, lbClass),
      // A deleted service with an address: the address goes back to the pool.
      onEvent: (_key, changed) => {
        if (changed) onChange();
      },
      onRelisted: onChange,
    });
    this.lbClass = lbClass;
  }

  /** `<namespace>/<name>` → the services that matter (absent: nothing to do, once `listed`). */
  get services(): ReadonlyMap<string, LbService> {
    return this.view;
  }

  /** What a status write answered: the allocator need not wait for the watch to see it. */
  observe(obj: KubeObject): void {
    const s = lbServiceOf(obj, this.lbClass);
    if (s) this.view.set(ownerOf(s), s);
    else if (obj.metadata?.namespace && obj.metadata.name) this.view.delete(objectKey(obj));
  }
}
