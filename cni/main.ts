// The CNI plugin process: read stdin (bounded), run the shim, print the result or the spec's
// error JSON on stdout and nothing else, exit. A watchdog guarantees the process ends even if
// something below never answers. Diagnostics go to stderr, or to the config's logFile.
//
// stdin, stdout and stderr are used through their file descriptors, not process.stdin/stdout/
// stderr: creating those streams costs Bun ~60 ms (its node:stream and tty layers) and Node a
// few ms, more than the rest of a VERSION (ADR 0009).
import { appendFileSync, fstatSync, read, writeSync } from 'node:fs';
import { CniCode, CniError } from './errors.ts';
import { runShim, type ShimOutput } from './shim.ts';
import { sniffVersion } from './netconf.ts';
import { LATEST_VERSION } from './versions.ts';

const STDIN_TIMEOUT_MS = 10_000;
const HARD_LIMIT_MS = 310_000; // above the largest timeoutSeconds a config may set

function isWouldBlock(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'EAGAIN';
}

/** stdin as a stream: for a non-blocking descriptor, which a plain read cannot wait on. */
function readStdinStream(chunks: Buffer[], done: (err: Error | null, text?: string) => void): void {
  process.stdin.on('data', (c: Buffer) => chunks.push(c));
  process.stdin.on('end', () => done(null, Buffer.concat(chunks).toString('utf8')));
  process.stdin.on('error', (err) => done(err));
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    // A terminal (or /dev/null, equally empty) gives no config; node:tty's isatty would cost Bun
    // ~30 ms to load, a stat nothing.
    if (fstatSync(0).isCharacterDevice()) return resolve('');
    const timer = setTimeout(
      () => reject(new CniError(CniCode.IoFailure, `no end of stdin after ${STDIN_TIMEOUT_MS} ms`)),
      STDIN_TIMEOUT_MS,
    );
    const done = (err: Error | null, text?: string): void => {
      clearTimeout(timer);
      if (err) reject(new CniError(CniCode.IoFailure, `reading stdin: ${err.message}`, { cause: err }));
      else resolve(text ?? '');
    };
    const chunks: Buffer[] = [];
    const next = (): void =>
      read(0, Buffer.allocUnsafe(65_536), 0, 65_536, null, (err, n, buf) => {
        if (err && isWouldBlock(err)) return readStdinStream(chunks, done);
        if (err) return done(err);
        if (n === 0) return done(null, Buffer.concat(chunks).toString('utf8'));
        chunks.push(buf.subarray(0, n));
        next();
      });
    next();
  });
}

/**
 * Writes all of `text` to a descriptor and then calls `then`. A non-blocking descriptor that is
 * full (EAGAIN) gets the rest through its stream, and `then` runs once that is written.
 */
function writeAll(fd: 1 | 2, text: string, then?: () => void): void {
  const bytes = Buffer.from(text, 'utf8');
  let off = 0;
  try {
    while (off < bytes.length) off += writeSync(fd, bytes, off);
  } catch (err) {
    if (!isWouldBlock(err)) throw err;
    (fd === 1 ? process.stdout : process.stderr).write(bytes.subarray(off), () => then?.());
    return;
  }
  then?.();
}

function log(logFile: string, line: object): void {
  const text =
    JSON.stringify({ time: new Date().toISOString(), component: 'cni', pid: process.pid, ...line }) + '\n';
  try {
    if (logFile) appendFileSync(logFile, text);
    else writeAll(2, text);
  } catch {
    writeAll(2, text);
  }
}

/** Prints `stdout`, then exits with `exitCode`. */
export function printAndExit(stdout: string, exitCode: number): void {
  writeAll(1, stdout, () => process.exit(exitCode));
}

function finish(out: ShimOutput): void {
  printAndExit(out.stdout, out.exitCode);
}

export async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    const err = new CniError(CniCode.Internal, 'netloom CNI shim exceeded its hard time limit');
    finish({ stdout: JSON.stringify(err.toResult(LATEST_VERSION)) + '\n', exitCode: 1 });
  }, HARD_LIMIT_MS);
  watchdog.unref();
  let stdin: string;
  try {
    stdin = await readStdin();
  } catch (err) {
    const e = err instanceof CniError ? err : new CniError(CniCode.IoFailure, String(err));
    return finish({ stdout: JSON.stringify(e.toResult(LATEST_VERSION)) + '\n', exitCode: 1 });
  }
  let logFile = '';
  const out = await runShim(process.env, stdin, async (conf) => {
    logFile = conf.logFile;
    // gRPC is loaded only for commands that reach the agent: VERSION and bad input stay fast.
    const { connectAgent } = await import('./agent-client.ts');
    return connectAgent(conf.agentSocket, conf.timeoutSeconds * 1000);
  });
  if (out.error) {
    log(logFile, {
      level: 'error',
      command: process.env['CNI_COMMAND'],
      containerId: process.env['CNI_CONTAINERID'],
      cniVersion: sniffVersion(stdin),
      code: out.error.code,
      msg: out.error.message,
      details: out.error.details,
    });
  }
  finish(out);
}
