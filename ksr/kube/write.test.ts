// The shared write helpers against a real HTTP server on loopback that answers as the API server
// would: what is sent (method, path, content type, body) and how each answer is read.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiError } from './client.ts';
import { mergePatch, mergePatchApplied, postEvent } from './write.ts';

interface Seen {
  method: string;
  path: string;
  contentType: string | undefined;
  body: unknown;
}

let server: Server;
let kc: KubeConfig;
const seen: Seen[] = [];
/** The answers to give, in turn: status and body. */
const answers: { status: number; body: string }[] = [];

async function bodyOf(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void bodyOf(req).then((body) => {
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body,
      });
      const a = answers.shift() ?? { status: 500, body: 'no answer scripted' };
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
  answers.length = 0;
});

const PATH = '/api/v1/namespaces/ns/pods/p';
const PATCH = { metadata: { uid: 'u1', annotations: { a: null } } };

describe('mergePatch', () => {
  it('sends a JSON merge patch and resolves with the object the server answered', async () => {
    answers.push({ status: 200, body: '{"metadata":{"name":"p","resourceVersion":"9"}}' });
    expect(await mergePatch(kc, PATH, PATCH, 5_000)).toEqual({
      metadata: { name: 'p', resourceVersion: '9' },
    });
    expect(seen).toEqual([
      { method: 'PATCH', path: PATH, contentType: 'application/merge-patch+json', body: PATCH },
    ]);
  });

  it('an object gone (404) or replaced (409) resolves undefined', async () => {
    answers.push({ status: 404, body: '{"kind":"Status"}' }, { status: 409, body: '{"kind":"Status"}' });
    expect(await mergePatch(kc, PATH, PATCH, 5_000)).toBeUndefined();
    expect(await mergePatch(kc, PATH, PATCH, 5_000)).toBeUndefined();
  });

  it('any other answer throws KubeApiError with the status, the path and the server’s words', async () => {
    answers.push({ status: 422, body: 'finalizers: Invalid value' });
    const err = await mergePatch(kc, PATH, PATCH, 5_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(422);
    expect((err as KubeApiError).retriable).toBe(false);
    expect((err as Error).message).toBe(`422 PATCH ${PATH}: finalizers: Invalid value`);
  });
});

describe('mergePatchApplied', () => {
  it('true when written, false when gone or replaced, throws otherwise', async () => {
    answers.push(
      { status: 200, body: '{"metadata":{}}' },
      { status: 404, body: '{}' },
      { status: 409, body: '{}' },
      { status: 503, body: 'etcdserver: leader changed' },
    );
    expect(await mergePatchApplied(kc, PATH, PATCH, 5_000)).toBe(true);
    expect(await mergePatchApplied(kc, PATH, PATCH, 5_000)).toBe(false);
    expect(await mergePatchApplied(kc, PATH, PATCH, 5_000)).toBe(false);
    const err = await mergePatchApplied(kc, PATH, PATCH, 5_000).catch((e: unknown) => e);
    expect((err as KubeApiError).status).toBe(503);
    expect((err as KubeApiError).retriable).toBe(true);
    expect(seen.map((s) => s.method)).toEqual(['PATCH', 'PATCH', 'PATCH', 'PATCH']);
  });
});

describe('postEvent', () => {
  const obj = { apiVersion: 'v1', kind: 'Service', namespace: 'ns', name: 's', uid: 'u1' };
  const options = { component: 'netloom-ksr', instance: 'ksr-0' };

  it('creates an Event about the object in its namespace', async () => {
    answers.push({ status: 201, body: '{}' });
    await postEvent(kc, options, obj, {
      warning: true,
      reason: 'LoadBalancerPoolExhausted',
      message: 'full',
    });
    expect(seen).toHaveLength(1);
    const { method, path, contentType, body } = seen[0]!;
    expect([method, path, contentType]).toEqual(['POST', '/api/v1/namespaces/ns/events', 'application/json']);
    const e = body as Record<string, unknown>;
    expect(e['firstTimestamp']).toBe(e['lastTimestamp']);
    expect(Number.isNaN(Date.parse(String(e['firstTimestamp'])))).toBe(false);
    expect({ ...e, firstTimestamp: 'T', lastTimestamp: 'T' }).toEqual({
      metadata: { generateName: 's.', namespace: 'ns' },
      involvedObject: obj,
      type: 'Warning',
      reason: 'LoadBalancerPoolExhausted',
      message: 'full',
      source: { component: 'netloom-ksr' },
      reportingComponent: 'netloom-ksr',
      reportingInstance: 'ksr-0',
      firstTimestamp: 'T',
      lastTimestamp: 'T',
      count: 1,
    });
  });

  it('a refusal throws KubeApiError', async () => {
    answers.push({ status: 403, body: 'events is forbidden' });
    const err = await postEvent(kc, options, obj, { warning: false, reason: 'R', message: 'm' }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe('403 POST /api/v1/namespaces/ns/events: events is forbidden');
  });
});
