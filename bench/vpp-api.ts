// VPP binary-API bridge throughput against the fake VPP (in a worker thread, over a real unix
// socket), printed beside peers measured in the same run:
//   - one-at-a-time round trips with the same client (what a synchronous client such as
//     vpp_papi's does),
//   - the same framed bytes through a raw echo server with the same window (the socket floor:
//     no codec, no dispatch, no server logic),
//   - a real VPP (cli/lab/vpp.ts: findVpp, VppInstance as a plain process with its own startup.conf)
//     answering the same control_pings from the same client, pipelined with the same window and
//     one at a time, with the ratio real/fake. A machine without a VPP prints one loud
//     "real VPP: skipped (<reason>)" line and still measures the rest.
// Rounds are interleaved so machine noise hits all alike; the best round of each is reported.
// Usage: npm run bench:vpp [-- --requests 200000 --window 1000 --rounds 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { VppClient } from '../agent/dataplane/vpp/api/client.ts';
import { VppCodec } from '../agent/dataplane/vpp/api/codec.ts';
import { loadApiDirectory, type ApiDefinitions } from '../agent/dataplane/vpp/api/definitions.ts';
import { FRAME_HEADER_SIZE, sealFrame } from '../agent/dataplane/vpp/api/framing.ts';
import { V25_10_DIR } from '../agent/dataplane/vpp/testing/definitions.ts';
import { findVpp, VppInstance } from '../cli/lab/vpp.ts';
import { silentLogger } from '../lib/logging.ts';
import { codecRates } from './vpp-codec-rates.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) || fallback : fallback;
}

const REQUESTS = arg('requests', 200_000);
const SEQUENTIAL = arg('sequential', 5_000);
const WINDOW = arg('window', 1_000);
const ROUNDS = arg('rounds', 3);
const TARGET = 50_000;

async function startWorker(kind: 'fake' | 'echo', socketPath: string): Promise<Worker> {
  const w = new Worker(new URL('./vpp-server-worker.ts', import.meta.url), {
    workerData: { kind, socketPath, apiDir: V25_10_DIR },
  });
  await new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  });
  return w;
}

/** Requests/s with up to WINDOW control_pings in flight. */
async function pipelined(client: VppClient, n: number): Promise<number> {
  const t0 = performance.now();
  let started = 0;
  await new Promise<void>((resolve, reject) => {
    let done = 0;
    const next = (): void => {
      if (started >= n) return;
      started++;
      client.request('control_ping').then(() => {
        if (++done === n) resolve();
        else next();
      }, reject);
    };
    for (let i = 0; i < Math.min(WINDOW, n); i++) next();
  });
  return (n / (performance.now() - t0)) * 1000;
}

async function sequential(client: VppClient, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await client.request('control_ping');
  return (n / (performance.now() - t0)) * 1000;
}

/** Frames/s echoed by a raw socket: the same framed control_ping bytes, the same window. */
async function rawEcho(socketPath: string, frame: Buffer, n: number): Promise<number> {
  const sock = connect(socketPath);
  await new Promise<void>((resolve) => sock.once('connect', resolve));
  const size = frame.length;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    let bytes = 0;
    const send = (k: number): void => {
      const m = Math.min(k, n - sent);
      if (m <= 0) return;
      sent += m;
      sock.write(Buffer.concat(Array<Buffer>(m).fill(frame)));
    };
    sock.on('data', (chunk: Buffer) => {
      const before = Math.floor(bytes / size);
      bytes += chunk.length;
      const frames = Math.floor(bytes / size);
      if (frames >= n) resolve();
      else send(frames - before);
    });
    send(WINDOW);
  });
  const rate = (n / (performance.now() - t0)) * 1000;
  sock.destroy();
  return rate;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(11);
}

/** A real VPP with the bench's client connected, or why there is none. */
type RealVpp =
  | { ok: true; version: string; client: VppClient; stop(): Promise<void> }
  | { ok: false; reason: string; failed: boolean };

/** Starts VPP in `dir` (no namespace: control_ping needs no interface) and connects the client. */
async function startRealVpp(dir: string, definitions: ApiDefinitions): Promise<RealVpp> {
  const found = findVpp();
  if (!found.ok) return { ok: false, reason: found.reason, failed: false };
  const vpp = new VppInstance({ build: found.build, dir });
  let client: VppClient | undefined;
  const stop = async (): Promise<void> => {
    await client?.close().catch(() => undefined);
    await vpp.stop();
  };
  try {
    await vpp.start();
    client = await VppClient.connect({
      socketPath: vpp.paths.apiSocket,
      definitions,
      logger: silentLogger(),
      liveness: false,
    });
    if (!client.supports('control_ping')) throw new Error('VPP lacks control_ping at our CRC');
  } catch (err) {
    await stop();
    return { ok: false, reason: `VPP ${found.build.version} did not serve: ${String(err)}`, failed: true };
  }
  return { ok: true, version: found.build.version, client, stop };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'netloom-bench-vpp-'));
  let real: RealVpp = { ok: false, reason: 'not started', failed: false };
  try {
    const defs = await loadApiDirectory(V25_10_DIR);
    const fake = await startWorker('fake', join(dir, 'fake.sock'));
    const echo = await startWorker('echo', join(dir, 'echo.sock'));
    const client = await VppClient.connect({
      socketPath: join(dir, 'fake.sock'),
      definitions: defs,
      logger: silentLogger(),
      liveness: false,
    });
    real = await startRealVpp(join(dir, 'vpp'), defs);
    const frame = sealFrame(
      new VppCodec(defs).encode(
        'control_ping',
        {},
        { msgId: 1, clientIndex: 0x80000000, context: 1 },
        FRAME_HEADER_SIZE,
      ),
    );
    await pipelined(client, 20_000); // warm-up
    await rawEcho(join(dir, 'echo.sock'), frame, 20_000);
    if (real.ok) await pipelined(real.client, 20_000);
    const best = { pipe: 0, seq: 0, echo: 0, realPipe: 0, realSeq: 0 };
    for (let r = 0; r < ROUNDS; r++) {
      best.pipe = Math.max(best.pipe, await pipelined(client, REQUESTS));
      best.seq = Math.max(best.seq, await sequential(client, SEQUENTIAL));
      best.echo = Math.max(best.echo, await rawEcho(join(dir, 'echo.sock'), frame, REQUESTS));
      if (real.ok) {
        best.realPipe = Math.max(best.realPipe, await pipelined(real.client, REQUESTS));
        best.realSeq = Math.max(best.realSeq, await sequential(real.client, SEQUENTIAL));
      }
    }
    await client.close();
    await fake.terminate();
    await echo.terminate();

    console.log(
      `VPP API bridge vs fake VPP (worker thread, unix socket), best of ${ROUNDS} rounds, window ${WINDOW}`,
    );
    console.log(`  pipelined request/reply (control_ping)  ${fmt(best.pipe)} req/s   ${REQUESTS} requests`);
    console.log(
      `  one at a time (synchronous peer)        ${fmt(best.seq)} req/s   ${(best.pipe / best.seq).toFixed(1)}× slower than pipelined`,
    );
    console.log(
      `  raw socket echo, same bytes (floor)     ${fmt(best.echo)} frames/s   pipelined = ${((best.pipe / best.echo) * 100).toFixed(0)} % of it`,
    );
    console.log(
      `  target ≥ ${TARGET.toLocaleString('en-US')} req/s: ${best.pipe >= TARGET ? 'met' : '*** NOT MET ***'}`,
    );
    if (real.ok) {
      console.log(
        `Real VPP ${real.version} (own process, unix socket, same client and definitions), same rounds, window ${WINDOW}`,
      );
      console.log(
        `  pipelined request/reply (control_ping)  ${fmt(best.realPipe)} req/s   real/fake ${(best.realPipe / best.pipe).toFixed(2)}`,
      );
      console.log(
        `  one at a time                           ${fmt(best.realSeq)} req/s   real/fake ${(best.realSeq / best.seq).toFixed(2)}; ${(best.realPipe / best.realSeq).toFixed(1)}× slower than pipelined`,
      );
    } else {
      console.log(`*** real VPP: skipped (${real.reason}) ***`);
      if (real.failed) process.exitCode = 1;
    }
    console.log('Codec (single thread):');
    for (const r of codecRates(new VppCodec(defs)))
      console.log(`  ${r.name.padEnd(42)} ${fmt(r.opsPerSec)} msg/s`);
  } finally {
    if (real.ok) await real.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
