// The CNI plugin process: read stdin (bounded), run the shim, print the result or the spec's
// error JSON on stdout and nothing else, exit. A watchdog guarantees the process ends even if
// something below never answers. Diagnostics go to stderr, or to the config's logFile.
import { appendFileSync } from 'node:fs';
import { CniCode, CniError } from './errors.ts';
import { runShim, type ShimOutput } from './shim.ts';
import { sniffVersion } from './netconf.ts';
import { LATEST_VERSION } from './versions.ts';

const STDIN_TIMEOUT_MS = 10_000;
const HARD_LIMIT_MS = 310_000; // above the largest timeoutSeconds a config may set

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    if (process.stdin.isTTY) return resolve('');
    const chunks: Buffer[] = [];
    const timer = setTimeout(
      () => reject(new CniError(CniCode.IoFailure, `no end of stdin after ${STDIN_TIMEOUT_MS} ms`)),
      STDIN_TIMEOUT_MS,
    );
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => (clearTimeout(timer), resolve(Buffer.concat(chunks).toString('utf8'))));
    process.stdin.on(
      'error',
      (err) => (
        clearTimeout(timer),
        reject(new CniError(CniCode.IoFailure, `reading stdin: ${err.message}`, { cause: err }))
      ),
    );
  });
}

function log(logFile: string, line: object): void {
  const text =
    JSON.stringify({ time: new Date().toISOString(), component: 'cni', pid: process.pid, ...line }) + '\n';
  try {
    if (logFile) appendFileSync(logFile, text);
    else process.stderr.write(text);
  } catch {
    process.stderr.write(text);
  }
}

function finish(out: ShimOutput): never {
  process.stdout.write(out.stdout);
  process.exit(out.exitCode);
}

export async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    const err = new CniError(CniCode.Internal, 'netloom CNI shim exceeded its hard time limit');
    finish({ stdout: JSON.stringify(err.toResult(LATEST_VERSION)) + '\n', exitCode: 1 });
  }, HARD_LIMIT_MS);
  watchdog.unref();
  let stdin = '';
  try {
    stdin = await readStdin();
  } catch (err) {
    const e = err instanceof CniError ? err : new CniError(CniCode.IoFailure, String(err));
    finish({ stdout: JSON.stringify(e.toResult(LATEST_VERSION)) + '\n', exitCode: 1 });
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
