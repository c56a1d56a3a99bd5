// The client against the fake VPP over a real unix socket: handshake and message table, CRC
// refusal, pipelining with out-of-order replies, dumps, events, crash and restart of the
// server mid-stream, timeouts and liveness. Every test checks that nothing is left pending.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../lib/logging.ts';
import { VppClient, type VppClientOptions, type VppClientStatus } from './client.ts';
import {
  VppApiError,
  VppDecodeError,
  VppDisconnectedError,
  VppTimeoutError,
  VppUnsupportedMessageError,
  VppUsageError,
} from './errors.ts';
import type { VppFields } from './field-codecs.ts';
import { loadV25Definitions } from '../testing/definitions.ts';
import { fakeLab, type FakeLab } from '../testing/fake.ts';

let lab: FakeLab;
const clients: VppClient[] = [];

beforeEach(async () => {
  lab = await fakeLab();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await lab.cleanup();
});

async function connect(options: Partial<VppClientOptions> = {}): Promise<VppClient> {
  const c = await VppClient.connect({
    socketPath: lab.socketPath,
    definitions: await loadV25Definitions(),
    logger: silentLogger(),
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    ...options,
  });
  clients.push(c);
  return c;
}

/** Collects status changes until `until` matches. */
async function waitStatus(
  c: VppClient,
  until: (s: VppClientStatus) => boolean,
  seen: VppClientStatus[] = [],
): Promise<VppClientStatus[]> {
  for await (const s of c.status()) {
    seen.push(s);
    if (until(s)) break;
  }
  return seen;
}

describe('handshake and message table', () => {
  it('connects, takes client_index and ids from the server (ids not hard-coded)', async () => {
    const fake = await lab.start({ idBase: 777 });
    const c = await connect();
    expect(c.isConnected).toBe(true);
    expect(c.supports('tap_create_v3')).toBe(true);
    const v = await c.request('show_version');
    expect(v['version']).toBe('25.10-netloom-fake');
    expect(v['_vl_msg_id']).toBe(fake.messageId('show_version_reply'));
    expect(fake.messageId('show_version')).toBeGreaterThan(777);
  });

  it('refuses a message whose name_crc the server lacks, before sending anything', async () => {
    const fake = await lab.start({
      crcOverrides: { tap_create_v3: 'deadbeef' },
      omit: ['vxlan_add_del_tunnel_v3'],
    });
    const c = await connect();
    const before = fake.stats.requests;
    const err = await c.request('tap_create_v3', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VppUnsupportedMessageError);
    expect((err as Error).message).toBe(
      'message tap_create_v3_3f3fd1df refused: VPP has tap_create_v3_deadbeef: CRC mismatch, the definitions differ from the running VPP',
    );
    await expect(c.request('vxlan_add_del_tunnel_v3', {})).rejects.toThrow(/VPP does not know this message/);
    expect(fake.stats.requests).toBe(before);
    expect(c.supports('tap_create_v3')).toBe(false);
    expect(c.supports('tap_delete_v2')).toBe(true);
  });

  it('reports the mismatch count when it connects', async () => {
    await lab.start({ crcOverrides: { acl_dump: '00000001', acl_del: '00000002' } });
    const c = new VppClient({
      socketPath: lab.socketPath,
      definitions: await loadV25Definitions(),
      logger: silentLogger(),
    });
    clients.push(c);
    const status = c.status();
    c.start();
    const first = await status[Symbol.asyncIterator]().next();
    expect(first.value).toMatchObject({
      type: 'connected',
      mismatched: expect.arrayContaining(['acl_dump_ef34fea4', 'acl_del_ef34fea4']) as unknown,
    });
  });

  it("uses the server's own definitions fetched with get_api_json", async () => {
    const defs = await import('node:fs/promises').then(async (fs) => {
      const dir = (await import('../testing/definitions.ts')).V25_10_DIR;
      const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.api.json')).sort();
      return `[${(await Promise.all(names.map((n) => fs.readFile(`${dir}/${n}`, 'utf8')))).join(',')}]`;
    });
    await lab.start({ apiJson: defs });
    const c = await connect({ definitions: 'server' });
    expect(c.definitions?.messages.size).toBeGreaterThan(1900);
    const r = await c.request('tap_create_v3', { tag: 'x' });
    expect(r['sw_if_index']).toBe(1);
  });
});

describe('requests and dumps', () => {
  it('maps a negative retval to VppApiError and request/dump misuse to VppUsageError', async () => {
    await lab.start();
    const c = await connect();
    const err = await c.request('tap_delete_v2', { sw_if_index: 42 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VppApiError);
    expect(err).toMatchObject({
      retval: -2,
      retriable: false,
      message: 'tap_delete_v2 failed: retval -2 (invalid sw_if_index)',
    });
    await expect(c.request('sw_interface_dump')).rejects.toThrow(VppUsageError);
    await expect(c.dump('show_version')).rejects.toThrow(VppUsageError);
  });

  it('10k pipelined requests answered out of order each get their own reply', async () => {
    const fake = await lab.start({ reorder: true });
    const c = await connect();
    const n = 10_000;
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        c.request('acl_add_replace', { acl_index: 0xffffffff, tag: `acl-${i}` }),
      ),
    );
    // The fake hands out indexes in arrival order; each reply must be the one for its own tag.
    const dump = await c.dump('acl_dump', { acl_index: 0xffffffff });
    expect(dump).toHaveLength(n);
    const tagOf = new Map(dump.map((d) => [d['acl_index'] as number, d['tag'] as string]));
    replies.forEach((r, i) => expect(tagOf.get(r['acl_index'] as number)).toBe(`acl-${i}`));
    expect(fake.stats.replies).toBeGreaterThanOrEqual(2 * n);
  });

  it('dumps stream details until control_ping_reply with the same context, several at once', async () => {
    await lab.start({ reorder: true });
    const c = await connect();
    for (let i = 0; i < 5; i++)
      await c.request('tap_create_v3', { host_if_name_set: true, host_if_name: `eth${i}`, tag: `pod-${i}` });
    const [ifs, taps, acls] = await Promise.all([
      c.dump('sw_interface_dump'),
      c.dump('sw_interface_tap_v2_dump'),
      c.dump('acl_dump', { acl_index: 0xffffffff }),
    ]);
    expect(ifs.map((d) => d['interface_name'])).toEqual(['local0', 'tap0', 'tap1', 'tap2', 'tap3', 'tap4']);
    expect(taps.map((d) => d['host_if_name'])).toEqual(['eth0', 'eth1', 'eth2', 'eth3', 'eth4']);
    expect(acls).toEqual([]);
  });
});

describe('dumps that do not decode', () => {
  it('fail as a whole (no partial dump), reads padded details, and the client goes on', async () => {
    await lab.start();
    // A client whose idea of sw_interface_details is 8 bytes longer than what VPP sends.
    const defs = (await loadV25Definitions()).clone();
    const details = defs.message('sw_interface_details');
    defs.messages.set('sw_interface_details', {
      ...details,
      fields: [...details.fields, { type: 'u64', name: 'not_sent' }],
    });
    const c = await connect({ definitions: defs });
    await expect(c.dump('sw_interface_dump')).rejects.toBeInstanceOf(VppDecodeError);
    // The stream stayed in step: later requests and dumps are answered.
    await c.request('nat44_ed_plugin_enable_disable', { enable: true });
    await c.request('nat44_add_del_lb_static_mapping', {
      is_add: true,
      flags: 0x04, // out2in-only: no pool address needed
      external_addr: Uint8Array.of(10, 96, 0, 1),
      external_port: 80,
      protocol: 6,
      locals: [
        { addr: Uint8Array.of(10, 1, 1, 2), port: 8080, probability: 1, vrf_id: 0 },
        { addr: Uint8Array.of(10, 1, 1, 3), port: 8080, probability: 1, vrf_id: 0 },
      ],
    });
    // The fake pads these as a real VPP does; they are read all the same.
    const lb = await c.dump('nat44_lb_static_mapping_dump');
    expect(lb.map((d) => (d['locals'] as VppFields[]).length)).toEqual([2]);
  });
});

describe('events', () => {
  it('delivers sw_interface_event to subscribers after want_interface_events', async () => {
    await lab.start();
    const c = await connect();
    const sub = await c.subscribe('sw_interface_event', {
      request: 'want_interface_events',
      fields: { enable_disable: 1, pid: 7 },
    });
    const it = sub[Symbol.asyncIterator]();
    const r = await c.request('tap_create_v3', {});
    const ev = (await it.next()).value as VppFields;
    expect(ev).toMatchObject({ sw_if_index: r['sw_if_index'], pid: 7, deleted: false });
    await c.request('sw_interface_set_flags', { sw_if_index: r['sw_if_index'] as number, flags: 1 });
    expect((await it.next()).value).toMatchObject({ sw_if_index: r['sw_if_index'], flags: 3 });
    await sub.close();
  });
});

describe('failures', () => {
  it('server crash mid-stream: replied requests resolve, the rest reject retriably, none hangs; reconnect + resubscribe', async () => {
    const fake = await lab.start();
    const c = await connect();
    const sub = await c.subscribe('sw_interface_event', {
      request: 'want_interface_events',
      fields: { enable_disable: 1, pid: 9 },
    });
    const events = sub[Symbol.asyncIterator]();
    const statuses = c.status()[Symbol.asyncIterator]();
    fake.crashAfterReplies(300);
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => c.request('control_ping')));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toBe(300);
    expect(failed).toHaveLength(700);
    for (const f of failed) expect(f.reason).toBeInstanceOf(VppDisconnectedError);
    expect((failed[0]!.reason as VppDisconnectedError).retriable).toBe(true);
    expect((await statuses.next()).value).toMatchObject({ type: 'disconnected' });
    await expect(c.request('control_ping')).rejects.toThrow(VppDisconnectedError);

    // VPP comes back empty: the client reconnects by itself and enables events again.
    const restarted = await lab.start();
    let s: VppClientStatus;
    do s = (await statuses.next()).value as VppClientStatus;
    while (s.type !== 'connected');
    expect(s).toMatchObject({ type: 'connected', resubscribeFailures: 0 });
    expect((await c.dump('sw_interface_dump')).map((d) => d['interface_name'])).toEqual(['local0']);
    const r = await c.request('tap_create_v3', {});
    expect((await events.next()).value).toMatchObject({ sw_if_index: r['sw_if_index'], pid: 9 });
    expect(restarted.stats.connections).toBe(1);
  });

  it('times out a request VPP never answers, and the late reply is dropped', async () => {
    const fake = await lab.start();
    const c = await connect({ liveness: false });
    fake.pause();
    const err = await c.request('show_version', {}, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VppTimeoutError);
    expect((err as VppTimeoutError).retriable).toBe(true);
    fake.resume();
    expect((await c.request('show_version'))['retval']).toBe(0);
  });

  it('liveness: a hung VPP is dropped after unanswered pings, and the client reconnects once it answers', async () => {
    const fake = await lab.start();
    const c = await connect({
      liveness: { intervalMs: 50, timeoutMs: 50, failures: 2 },
      connectTimeoutMs: 200,
    });
    const seen: VppClientStatus[] = [];
    const watching = waitStatus(c, (s) => s.type === 'disconnected', seen);
    fake.pause();
    await watching;
    expect(seen.at(-1)).toMatchObject({
      type: 'disconnected',
      error: { message: 'liveness: 2 control_pings unanswered' },
    });
    fake.resume();
    await c.ready(5_000);
    expect((await c.request('show_version'))['retval']).toBe(0);
  });

  it('fails fast while disconnected and rejects everything in flight on close()', async () => {
    const fake = await lab.start();
    const c = await connect({ liveness: false });
    fake.pause();
    const inflight = c.request('show_version', {}, { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 20));
    await c.close();
    await expect(inflight).rejects.toThrow(VppDisconnectedError);
    await expect(c.request('show_version')).rejects.toThrow(/not connected/);
  });

  it('close() sends sockclnt_delete and VPP closes the socket', async () => {
    const fake = await lab.start();
    const c = await connect();
    const before = fake.stats.requests;
    await c.close();
    expect(fake.stats.requests).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.clientCount).toBe(0);
  });

  it('connect() gives up with a timeout when nothing listens', async () => {
    await expect(
      VppClient.connect(
        {
          socketPath: lab.socketPath,
          definitions: await loadV25Definitions(),
          logger: silentLogger(),
          reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
        },
        200,
      ),
    ).rejects.toThrow(VppTimeoutError);
  });
});
