// The reflector against a scripted Kubernetes client: paginated lists, resume after a clean
// close, 410 → relist with deletes for vanished objects, watchdog on a silent stream, backoff on
// errors, periodic relist, an optional resource that appears later.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logging.ts';
import { createRegistry } from '../../lib/metrics.ts';
import type { Feed, KubeObject } from '../feed.ts';
import { createKsrMetrics, type KsrMetrics } from '../metrics.ts';
import { KubeApiError, type KubeClient, type ListPage, type WatchEventType } from './client.ts';
import { Reflector, type ReflectorOptions } from './reflector.ts';

/** A feed that records what it was told and keeps the resulting set of names. */
class RecordingFeed implements Feed {
  readonly kind = 'pod' as const;
  readonly folds = false;
  readonly objects = new Map<string, string>();
  readonly log: string[] = [];
  private seen: Set<string> | undefined;
  upsert(obj: KubeObject): void {
    const name = obj.metadata!.name!;
    this.seen?.add(name);
    this.objects.set(name, (obj as { v?: string }).v ?? '');
    this.log.push(`upsert ${name}`);
  }
  remove(obj: KubeObject): void {
    this.objects.delete(obj.metadata!.name!);
    this.log.push(`remove ${obj.metadata!.name}`);
  }
  beginRelist(): void {
    this.seen = new Set();
    this.log.push('begin');
  }
  endRelist(): void {
    for (const k of [...this.objects.keys()]) if (!this.seen!.has(k)) this.remove({ metadata: { name: k } });
    this.seen = undefined;
    this.log.push('end');
  }
  abortRelist(): void {
    this.seen = undefined;
    this.log.push('abort');
  }
}

interface WatchCall {
  query: Record<string, string>;
  emit: (type: WatchEventType, obj: Record<string, unknown>) => void;
  done: (err: unknown) => void;
  aborted: boolean;
}

/** A Kubernetes client whose lists and watches the test scripts. */
class ScriptedClient implements KubeClient {
  lists: ((continueToken: string | undefined) => ListPage | Error)[] = [];
  listCalls = 0;
  watches: WatchCall[] = [];
  private waiters: (() => void)[] = [];

  async list(_path: string, o: { continueToken?: string | undefined }): Promise<ListPage> {
    this.listCalls++;
    const next = this.lists.shift();
    if (!next) throw new Error('no list scripted');
    const page = next(o.continueToken);
    if (page instanceof Error) throw page;
    return page;
  }

  async watch(
    _path: string,
    query: Record<string, string>,
    onEvent: WatchCall['emit'],
    done: WatchCall['done'],
  ): Promise<{ abort(): void }> {
    const call: WatchCall = { query, emit: onEvent, done, aborted: false };
    this.watches.push(call);
    for (const w of this.waiters.splice(0)) w();
    return { abort: () => (call.aborted = true) };
  }

  /** Resolves once `count` watches were opened. */
  async watchCount(count: number): Promise<WatchCall> {
    while (this.watches.length < count) await new Promise<void>((r) => this.waiters.push(r));
    return this.watches[count - 1]!;
  }
}

const pod = (name: string, rv: string, v = ''): Record<string, unknown> => ({
  metadata: { name, namespace: 'a', resourceVersion: rv },
  v,
});
const page = (items: Record<string, unknown>[], rv: string, cont?: string) => (): ListPage => ({
  items,
  resourceVersion: rv,
  continueToken: cont,
});

const options: ReflectorOptions = {
  path: '/api/v1/pods',
  optional: false,
  pageSize: 2,
  relistMs: 60_000,
  watchdogMs: 60_000,
  watchTimeoutSeconds: 300,
  backoffMs: { min: 10, max: 40 },
  absentPollMs: 20,
};

let stop = new AbortController();
afterEach(() => stop.abort());

function start(
  client: ScriptedClient,
  o: Partial<ReflectorOptions> = {},
): { feed: RecordingFeed; reflector: Reflector; metrics: KsrMetrics; synced: () => number } {
  stop = new AbortController();
  const feed = new RecordingFeed();
  const metrics = createKsrMetrics(createRegistry('t', { processMetrics: false }));
  let synced = 0;
  const reflector = new Reflector(
    client,
    feed,
    { ...options, ...o },
    { logger: silentLogger(), metrics, onSynced: () => synced++ },
  );
  void reflector.run(stop.signal);
  return { feed, reflector, metrics, synced: () => synced };
}

const restarts = async (m: KsrMetrics, reason: string): Promise<number> =>
  (await m.watchRestarts.get()).values
    .filter((v) => v.labels.reason === reason)
    .reduce((n, v) => n + v.value, 0);

describe('Reflector', () => {
  it('lists page by page, then watches from the list resourceVersion with bookmarks', async () => {
    const client = new ScriptedClient();
    client.lists.push(page([pod('a', '1'), pod('b', '2')], '10', 'c1'), (t) =>
      t === 'c1' ? page([pod('c', '3')], '10')() : new Error('bad token'),
    );
    const { feed, reflector, synced } = start(client);
    const w = await client.watchCount(1);
    expect(w.query).toMatchObject({
      resourceVersion: '10',
      allowWatchBookmarks: 'true',
      timeoutSeconds: '300',
    });
    expect(reflector.synced).toBe(true);
    expect(synced()).toBe(1);
    expect([...feed.objects.keys()]).toEqual(['a', 'b', 'c']);
    w.emit('ADDED', pod('d', '11'));
    w.emit('MODIFIED', pod('a', '12', 'x'));
    w.emit('DELETED', pod('b', '13'));
    w.emit('BOOKMARK', { metadata: { resourceVersion: '20' } });
    expect(Object.fromEntries(feed.objects)).toEqual({ a: 'x', c: '', d: '' });
    // A clean close resumes from the last resourceVersion seen (the bookmark's), no relist.
    w.done(null);
    const w2 = await client.watchCount(2);
    expect(w2.query.resourceVersion).toBe('20');
    expect(client.listCalls).toBe(2);
  });

  it('410 Gone relists, and objects that vanished meanwhile are removed', async () => {
    const client = new ScriptedClient();
    client.lists.push(
      page([pod('a', '1'), pod('b', '2')], '10'),
      page([pod('b', '30'), pod('e', '31')], '40'),
    );
    const { feed, metrics } = start(client);
    const w = await client.watchCount(1);
    w.emit('ERROR', { code: 410, message: 'too old resource version' });
    const w2 = await client.watchCount(2);
    expect(w2.query.resourceVersion).toBe('40');
    expect([...feed.objects.keys()].sort()).toEqual(['b', 'e']);
    expect(feed.log).toContain('remove a');
    expect(await restarts(metrics, 'gone')).toBe(1);
  });

  it('a watch failing with HTTP 410 relists too', async () => {
    const client = new ScriptedClient();
    client.lists.push(page([pod('a', '1')], '10'), page([], '50'));
    const { feed } = start(client);
    const w = await client.watchCount(1);
    w.done(Object.assign(new Error('Gone'), { statusCode: 410 }));
    expect((await client.watchCount(2)).query.resourceVersion).toBe('50');
    expect(feed.objects.size).toBe(0);
  });

  it('the watchdog restarts a silent watch from where it was', async () => {
    const client = new ScriptedClient();
    client.lists.push(page([pod('a', '1')], '10'));
    const { metrics } = start(client, { watchdogMs: 200 });
    const w = await client.watchCount(1);
    w.emit('MODIFIED', pod('a', '15'));
    const w2 = await client.watchCount(2);
    expect(w.aborted).toBe(true);
    expect(w2.query.resourceVersion).toBe('15');
    expect(await restarts(metrics, 'watchdog')).toBe(1);
    expect(client.listCalls).toBe(1);
  });

  it('backs off on watch errors and on failing lists, then recovers', async () => {
    const client = new ScriptedClient();
    client.lists.push(
      () => new Error('connection refused'),
      () => new KubeApiError(503, 'unavailable'),
      page([pod('a', '1')], '10'),
    );
    const { feed, metrics } = start(client);
    const w = await client.watchCount(1);
    expect(feed.objects.size).toBe(1);
    expect(feed.log.filter((l) => l === 'abort')).toHaveLength(2);
    const t0 = Date.now();
    w.done(new Error('socket hang up'));
    const w2 = await client.watchCount(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(7);
    expect(w2.query.resourceVersion).toBe('10');
    expect(await restarts(metrics, 'error')).toBe(1);
    expect((await metrics.errors.get()).values.reduce((n, v) => n + v.value, 0)).toBe(2);
  });

  it('a list failing half way sweeps nothing', async () => {
    const client = new ScriptedClient();
    client.lists.push(page([pod('a', '1'), pod('b', '2')], '10'));
    const { feed } = start(client, { relistMs: 100 });
    await client.watchCount(1);
    client.lists.push(
      page([pod('a', '1')], '20', 'more'),
      () => new Error('continue token expired'),
      page([pod('a', '1'), pod('b', '2')], '30'),
    );
    await client.watchCount(2);
    expect([...feed.objects.keys()].sort()).toEqual(['a', 'b']);
    expect(feed.log).not.toContain('remove b');
  });

  it('relists periodically', async () => {
    const client = new ScriptedClient();
    client.lists.push(page([pod('a', '1')], '10'), page([pod('a', '1'), pod('z', '2')], '20'));
    const { feed, metrics } = start(client, { relistMs: 150 });
    const w = await client.watchCount(1);
    const w2 = await client.watchCount(2);
    expect(w.aborted).toBe(true);
    expect(w2.query.resourceVersion).toBe('20');
    expect(feed.objects.has('z')).toBe(true);
    expect(await restarts(metrics, 'relist')).toBe(1);
  });

  it('an optional resource that is not installed counts as synced and empty, and is picked up later', async () => {
    const client = new ScriptedClient();
    const gone = (): Error => new KubeApiError(404, 'not found');
    client.lists.push(gone, gone, page([pod('nad', '5')], '9'));
    const { feed, reflector } = start(client, { optional: true });
    const w = await client.watchCount(1);
    expect(reflector.synced).toBe(true);
    expect([...feed.objects.keys()]).toEqual(['nad']);
    // The CRD deleted: its objects are gone from the mirror.
    client.lists.push(gone, page([], '12'));
    w.done(Object.assign(new Error('Not Found'), { statusCode: 404 }));
    await client.watchCount(2);
    expect(feed.objects.size).toBe(0);
  });

  it('a required resource answering 404 is an error, retried', async () => {
    const client = new ScriptedClient();
    client.lists.push(() => new KubeApiError(404, 'not found'), page([], '3'));
    const { reflector, metrics } = start(client);
    await client.watchCount(1);
    expect(reflector.synced).toBe(true);
    expect((await metrics.errors.get()).values.reduce((n, v) => n + v.value, 0)).toBe(1);
  });
});
