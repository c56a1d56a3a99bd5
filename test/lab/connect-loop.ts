// Runs inside one pod's namespace for as long as the test needs: every <interval> ms, a TCP
// connection to each <ip>:<port> on the command line (all at once, each bounded by <timeout> ms:
// on a loaded machine a connect can be slow without anything being lost),
// and one JSON line per round: {"t": <ms since epoch at the round's start>, "down": [targets not
// reached]}. Ends on SIGTERM or when stdin closes (the test went away).
//   connect-loop.ts <intervalMs> <timeoutMs> <ip:port> ...
import { connect } from 'node:net';

const interval = Number(process.argv[2]);
const timeout = Number(process.argv[3]);
const targets = process.argv.slice(4);

function reach(target: string): Promise<boolean> {
  const i = target.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeout);
    s.on('connect', () => done(true));
    s.on('error', () => done(false));
  });
}

let stop = false;
process.on('SIGTERM', () => (stop = true));
process.stdin.on('close', () => (stop = true));
process.stdin.resume();
while (!stop) {
  const t = Date.now();
  const ok = await Promise.all(targets.map(reach));
  process.stdout.write(JSON.stringify({ t, down: targets.filter((_, i) => !ok[i]) }) + '\n');
  await new Promise((r) => setTimeout(r, Math.max(0, interval - (Date.now() - t))));
}
process.exit(0);
