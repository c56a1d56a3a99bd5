// TCP connection set-up time, run inside a lab namespace by bench/services.ts: every connect is
// a new connection, so its SYN is a first packet that meets the Service rules (conntrack
// remembers the decision only for the packets after it).
//   connect-latency.ts serve <ip> <port>            accepts and closes; prints "ready"
//   connect-latency.ts connect <ip> <port> <count>  prints {"us": [...], "errors": n} (µs, sorted)
import { connect, createServer } from 'node:net';

const [mode, ip = '', portText = '', countText = '1'] = process.argv.slice(2);
const port = Number(portText);

function once(): Promise<number | undefined> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const s = connect({ host: ip, port, timeout: 2_000 });
    s.on('connect', () => {
      resolve(Number(process.hrtime.bigint() - t0) / 1000);
      s.destroy();
    });
    s.on('timeout', () => (s.destroy(), resolve(undefined)));
    s.on('error', () => resolve(undefined));
  });
}

if (mode === 'serve') {
  createServer((c) => c.destroy()).listen(port, ip, () => process.stdout.write('ready\n'));
} else if (mode === 'connect') {
  const us: number[] = [];
  let errors = 0;
  for (let i = 0; i < Number(countText); i++) {
    const t = await once();
    if (t === undefined) errors++;
    else us.push(t);
  }
  process.stdout.write(JSON.stringify({ us: us.sort((a, b) => a - b), errors }) + '\n');
} else {
  process.stderr.write('usage: connect-latency.ts serve|connect <ip> <port> [count]\n');
  process.exit(2);
}
