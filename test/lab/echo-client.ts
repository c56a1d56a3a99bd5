// The lab's TCP echo client, run inside a pod's namespace.
//   echo-client.ts once <port> <ip>...   connect to each ip, send a token, expect it back;
//                                        prints {"<ip>": "ok" | "<error>"} as one JSON line
//   echo-client.ts stream <port> <ip>    one connection ("ready" once up), a message every 20 ms
//                                        until stdin ends; prints {"sent", "echoed", "maxGapMs", "error"}
import { connect, type Socket } from 'node:net';

const [mode, portText, ...ips] = process.argv.slice(2);
const port = Number(portText);

function once(ip: string): Promise<string> {
  return new Promise((resolve) => {
    const token = `netloom-${ip}-${process.pid}\n`;
    let got = '';
    const s: Socket = connect({ host: ip, port, timeout: 3000 });
    const done = (r: string): void => {
      s.destroy();
      resolve(r);
    };
    s.on('connect', () => s.write(token));
    s.on('data', (d) => {
      got += d.toString();
      if (got === token) done('ok');
    });
    s.on('timeout', () => done('timeout'));
    s.on('error', (e) => done(e.message));
  });
}

async function runOnce(): Promise<void> {
  const out: Record<string, string> = {};
  const queue = [...ips];
  const worker = async (): Promise<void> => {
    for (let ip = queue.shift(); ip !== undefined; ip = queue.shift()) out[ip] = await once(ip);
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runStream(ip: string): void {
  let sent = 0;
  let echoed = 0;
  let last = Date.now();
  let maxGapMs = 0;
  let error = '';
  let buffer = '';
  const s = connect({ host: ip, port });
  s.setNoDelay(true);
  s.on('connect', () => process.stdout.write('ready\n'));
  const timer = setInterval(() => {
    const gap = Date.now() - last;
    if (gap > maxGapMs) maxGapMs = gap;
    s.write(`m${sent++}\n`);
  }, 20);
  s.on('data', (d) => {
    buffer += d.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    echoed += lines.length;
    last = Date.now();
  });
  s.on('error', (e) => (error = e.message));
  process.stdin.on('end', () => {
    clearInterval(timer);
    setTimeout(() => {
      process.stdout.write(JSON.stringify({ sent, echoed, maxGapMs, error }) + '\n');
      process.exit(0);
    }, 200);
  });
  process.stdin.resume();
}

if (mode === 'once') await runOnce();
else if (mode === 'stream' && ips[0]) runStream(ips[0]);
else {
  process.stderr.write('usage: echo-client.ts once|stream <port> <ip>...\n');
  process.exit(2);
}
