// The agent's read-only JSON API, served by lib/health-server.ts next to /livez, /readyz and
// /metrics. Everything here reads state; nothing changes it.
import type { JsonRoute } from '../../lib/health-server.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { IpamRecord } from '../ipam/allocator.ts';
import type { Explanation, Flow } from '../renderers/policy.ts';
import type { KvScheduler } from '../scheduler/scheduler.ts';
import type { ItemStatus } from '../scheduler/status.ts';
import { parseFlow } from './flow.ts';

export interface ApiSources {
  scheduler: KvScheduler;
  node(): unknown;
  ipam(): { subnet: string; gateway: string; usable: number; records: IpamRecord[] } | undefined;
  view(): { revision: number; counts: Record<string, number> };
  /** The policy engine's verdict on a flow, from this agent's view of the cluster. */
  explain(flow: Flow): Explanation;
}

/** `?prefix=route/` narrows item listings to keys with that prefix. */
function byPrefix<T extends { key: string }>(url: URL, list: T[]): T[] {
  const prefix = url.searchParams.get('prefix');
  const out = prefix ? list.filter((i) => i.key.startsWith(prefix)) : list;
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function apiRoutes(src: ApiSources): Record<string, JsonRoute> {
  return {
    '/api/v1/node': () => src.node(),
    '/api/v1/items/desired': (url) => byPrefix(url, src.scheduler.desiredItems()),
    '/api/v1/items/applied': (url) => byPrefix(url, src.scheduler.appliedItems()),
    /** `?state=failed,retrying` filters by state. */
    '/api/v1/items/status': (url) => {
      const states = url.searchParams.get('state')?.split(',');
      const filter = states ? (s: ItemStatus) => states.includes(s.state) : undefined;
      return byPrefix(url, src.scheduler.statuses(filter));
    },
    /** `?limit=N` newest transactions, newest last. */
    '/api/v1/transactions': (url) =>
      src.scheduler.transactions(Number(url.searchParams.get('limit') ?? '') || undefined),
    '/api/v1/ipam': () => src.ipam() ?? { error: 'IPAM not ready' },
    '/api/v1/view': () => src.view(),
    /**
     * What `netloom ctl dump <node>` shows, in one answer: the node, the applied items, the items
     * not settled (pending, retrying, failed…) and the last transactions (`?limit=N`, default
     * 20, newest last); `?prefix=` narrows the items.
     */
    '/api/v1/dump': (url) => ({
      node: src.node(),
      view: src.view(),
      applied: byPrefix(url, src.scheduler.appliedItems()),
      unsettled: byPrefix(
        url,
        src.scheduler.statuses((s) => s.state !== 'configured' && s.state !== 'obtained'),
      ),
      transactions: src.scheduler.transactions(Number(url.searchParams.get('limit') ?? '') || 20),
    }),
    /** `?from=x/a&to=y/b&port=80&protocol=TCP[&viaService=true]`: may it go, and which rule says so. */
    '/api/v1/explain': (url) => {
      try {
        return src.explain(parseFlow((n) => url.searchParams.get(n) ?? undefined));
      } catch (err) {
        return { error: errorMessage(err) };
      }
    },
  };
}
