import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../lib/etcd/store.ts';
import { silentLogger } from '../../lib/logging.ts';
import { createRegistry } from '../../lib/metrics.ts';
import { sleep } from '../../lib/timing.ts';
import type { Feed } from '../feed.ts';
import type { Term } from '../leader.ts';
import { createKsrMetrics } from '../metrics.ts';
import { decodeAttachment, type Attachment, type AttachmentIndex } from './attachments.ts';
import type { PodAnnotator, PodRef } from './kube.ts';
import { NETWORK_STATUS_ANNOTATION } from './status.ts';
import { NetStatusWriter } from './writer.ts';

/** The index's read side, from a list of records. */
function fakeIndex(records: Attachment[]): AttachmentIndex {
  const of = (podKey: string): Attachment[] => records.filter((a) => `${a.namespace}/${a.pod}` === podKey);
  return {
    synced: true,
    has: (podKey: string) => of(podKey).length > 0,
    recordsOf: of,
  } as unknown as AttachmentIndex;
}

const innerFeed: Feed = {
  kind: 'pod',
  folds: false,
  upsert: () => undefined,
  remove: () => undefined,
  beginRelist: () => undefined,
  endRelist: () => undefined,
  abortRelist: () => undefined,
};

const att = (pod: string, ifname: string, record: object): Attachment => ({
  node: 'n1',
  namespace: 'ns',
  pod,
  ifname,
  record: decodeAttachment(JSON.stringify(record))!,
});

/** A scripted annotator: answers from `script` in turn (then true), records every call. */
function fakeAnnotator(
  script: (boolean | Error)[] = [],
): PodAnnotator & { calls: [PodRef, string | null][] } {
  const calls: [PodRef, string | null][] = [];
  return {
    calls,
    annotate(pod, key, value) {
      expect(key).toBe(NETWORK_STATUS_ANNOTATION);
      calls.push([pod, value]);
      const next = script.shift() ?? true;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  };
}

const stops: AbortController[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s.abort();
});

function setup(records: Attachment[], annotator: PodAnnotator, uids: Record<string, string>) {
  const metrics = createKsrMetrics(createRegistry('t', { processMetrics: false }));
  const index = fakeIndex(records);
  const writer = new NetStatusWriter({
    store: { get: () => Promise.resolve({ createRevision: 7 }) } as unknown as Store,
    pods: annotator,
    index,
    podUid: (podKey) => uids[podKey],
    logger: silentLogger(),
    metrics,
    options: { concurrency: 2, backoffMs: { min: 20, max: 40 } },
  });
  const feed = writer.tee(innerFeed);
  const stop = new AbortController();
  stops.push(stop);
  const term = {
    key: 'k',
    createRevision: 7,
    signal: stop.signal,
    end: () => Promise.resolve(),
  } as unknown as Term;
  return { writer, feed, metrics, run: () => writer.run(term) };
}

const pod = (name: string, uid: string, annotations: Record<string, string> = {}) => ({
  metadata: { namespace: 'ns', name, uid, annotations },
});

describe('NetStatusWriter', () => {
  const records = [
    att('a', 'eth0', { podUid: 'ua', default: true, ips: ['10.1.1.2/24'] }),
    att('b', 'eth0', { podUid: 'ub', default: true, ips: ['10.1.1.3/24'] }),
  ];
  const textA = '[{"name":"netloom","interface":"eth0","ips":["10.1.1.2"],"default":true}]';

  it('patches what differs, once; a pod already saying it is left alone; an unknown pod waits', async () => {
    const annotator = fakeAnnotator();
    const { writer, feed, run } = setup(records, annotator, { 'ns/a': 'ua', 'ns/b': 'ub' });
    feed.beginRelist();
    feed.upsert(pod('a', 'ua'));
    feed.upsert(
      pod('b', 'ub', {
        [NETWORK_STATUS_ANNOTATION]:
          '[{"name":"netloom","interface":"eth0","ips":["10.1.1.3"],"default":true}]',
      }),
    );
    feed.upsert(pod('c', 'uc'));
    feed.endRelist();
    void run();
    await sleep(100);
    expect(annotator.calls).toEqual([[{ namespace: 'ns', name: 'a', uid: 'ua' }, textA]]);
    writer.touch('ns/a', true);
    writer.touch('ns/b', true);
    await sleep(100);
    expect(annotator.calls).toHaveLength(1);
  });

  it('a failure is retried with backoff for that pod; a pod gone is not retried', async () => {
    const annotator = fakeAnnotator([new Error('boom'), new Error('boom again'), false]);
    const { feed, metrics, run } = setup(records.slice(0, 1), annotator, { 'ns/a': 'ua' });
    feed.beginRelist();
    feed.upsert(pod('a', 'ua'));
    feed.endRelist();
    void run();
    await sleep(300);
    // error, error, then "gone": three calls, no fourth.
    expect(annotator.calls.map(([, v]) => v)).toEqual([textA, textA, textA]);
    const values = (await metrics.networkStatusPatches.get()).values.map((v) => [
      v.labels['result'],
      v.value,
    ]);
    expect(Object.fromEntries(values)).toEqual({ error: 2, gone: 1 });
  });

  it('someone else’s edit of the annotation is put back', async () => {
    const annotator = fakeAnnotator();
    const { feed, run } = setup(records.slice(0, 1), annotator, { 'ns/a': 'ua' });
    feed.beginRelist();
    feed.upsert(pod('a', 'ua', { [NETWORK_STATUS_ANNOTATION]: textA }));
    feed.endRelist();
    void run();
    await sleep(60);
    expect(annotator.calls).toHaveLength(0);
    feed.upsert(pod('a', 'ua', { [NETWORK_STATUS_ANNOTATION]: '[]' }));
    await sleep(60);
    expect(annotator.calls.map(([, v]) => v)).toEqual([textA]);
  });
});
