// A client for Services, run inside a lab namespace (a pod's, or the underlay's as the outside
// world). Each attempt is a new connection, so load balancing is what is measured.
//   service-probe.ts http <ip> <port> <count>   GET / on `count` fresh connections; prints a JSON
//                                               list of the answers' bodies (or "error: …")
//   service-probe.ts udp <ip> <port> <count>    one datagram per fresh socket; prints how many
//                                               came back as {"sent", "echoed"}
//   service-probe.ts connect <ip> <port>        one TCP connect; prints {"result", "ms"} where
//                                               result is ok, refused, timeout or the error
//   service-probe.ts get <ip> <port>            GET /healthz; prints {"status", "body"} (status 0
//                                               and the error as body when there is no answer)
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

const [mode, ip = '', portText = '', countText = '1'] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);

function http(): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = connect({ host: ip, port, timeout: 3_000 });
    s.on('connect', () => s.write(`GET / HTTP/1.1\r\nhost: ${ip}\r\nconnection: close\r\n\r\n`));
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () =>
      resolve(got.split('\r\n\r\n')[1]?.trim() ?? `error: bad answer ${JSON.stringify(got)}`),
    );
    s.on('timeout', () => (s.destroy(), resolve('error: timeout')));
    s.on('error', (e) => resolve(`error: ${e.message}`));
  });
}

function udp(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const token = `probe-${process.pid}-${Math.random()}`;
    const t = setTimeout(() => (s.close(), resolve(false)), 2_000);
    s.on('message', (m) => {
      if (m.toString() !== token) return;
      clearTimeout(t);
      s.close();
      resolve(true);
    });
    s.send(token, port, ip);
  });
}

function connectOnce(): Promise<{ result: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const s = connect({ host: ip, port, timeout: 3_000 });
    const done = (result: string): void => {
      s.destroy();
      resolve({ result, ms: Math.round(performance.now() - t0) });
    };
    s.on('connect', () => done('ok'));
    s.on('timeout', () => done('timeout'));
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : e.message));
  });
}

async function get(): Promise<{ status: number; body: string }> {
  try {
    const r = await fetch(`http://${ip}:${port}/healthz`, { signal: AbortSignal.timeout(3_000) });
    return { status: r.status, body: await r.text() };
  } catch (e) {
    return { status: 0, body: String(e) };
  }
}

async function main(): Promise<void> {
  if (mode === 'http') {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(await http());
    process.stdout.write(JSON.stringify(out) + '\n');
  } else if (mode === 'udp') {
    let echoed = 0;
    for (let i = 0; i < count; i++) if (await udp()) echoed++;
    process.stdout.write(JSON.stringify({ sent: count, echoed }) + '\n');
  } else if (mode === 'connect') {
    process.stdout.write(JSON.stringify(await connectOnce()) + '\n');
  } else if (mode === 'get') {
    process.stdout.write(JSON.stringify(await get()) + '\n');
  } else {
    process.stderr.write('usage: service-probe.ts http|udp|connect|get <ip> <port> [count]\n');
    process.exit(2);
  }
}

await main();
