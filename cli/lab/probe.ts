// Runs inside one pod's namespace (`lab check` starts it there): TCP-echo round trip to every
// address:port on the command line (PROBE_MODE=connect: the connection alone), all at once, each
// bounded; prints one JSON line of results.
// Standalone (node:net only) so that a check of 20 pods costs 20 fast process starts.
import { connect } from 'node:net';

const targets = process.argv.slice(2);
const timeoutMs = Number(process.env['PROBE_TIMEOUT_MS'] ?? 3_000);
// `connect`: reached once the target accepts the connection (real nodes' pods run any server).
const connectOnly = process.env['PROBE_MODE'] === 'connect';

function probe(target: string): Promise<{ target: string; ok: boolean; ms: number; error?: string }> {
  const i = target.lastIndexOf(':');
  const host = target.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(target.slice(i + 1));
  const token = `netloom-probe-${process.pid}-${Math.random().toString(16).slice(2)}\n`;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let got = '';
    const done = (ok: boolean, error?: string): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve({
        target,
        ok,
        ms: Math.round((performance.now() - t0) * 10) / 10,
        ...(error ? { error } : {}),
      });
    };
    const timer = setTimeout(() => done(false, 'timeout'), timeoutMs);
    sock.on('connect', () => (connectOnly ? done(true) : sock.write(token)));
    sock.on('data', (d) => {
      got += d.toString();
      if (got.length >= token.length) done(got === token, got === token ? undefined : 'wrong echo');
    });
    sock.on('error', (err) => done(false, err.message));
    sock.on('close', () => done(got === token, got === token ? undefined : 'closed'));
  });
}

const results = await Promise.all(targets.map(probe));
process.stdout.write(JSON.stringify(results) + '\n');
