// "Who answered, and whom did it see?" over TCP and UDP, run inside the lab's namespaces: what the
// Service tests count load spreading, affinity and masquerade with.
//   whoami.ts serve <name> <tcpPort> <udpPort>   answers every TCP connection and UDP datagram
//                                                with "<name> <client address>"; prints "ready"
//   whoami.ts tcp <ip> <port> <n>                n connections, one after another; prints a JSON
//                                                array of {reply} | {error, ms} (1 s timeout)
//   whoami.ts udp <ip> <port> <n>                n datagrams, each from a new socket (port)
//   whoami.ts udp-stream <ip> <port>             one socket, a datagram every 50 ms until stdin
//                                                ends; prints "ready", then one JSON line
//                                                {at, reply} per reply (at: ms since the epoch)
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

const [mode = '', a = '', b = '', c = ''] = process.argv.slice(2);
const TIMEOUT_MS = 1000;

type Answer = { reply: string } | { error: string; ms: number };

function tcpOnce(ip: string, port: number): Promise<Answer> {
  const start = Date.now();
  return new Promise((resolve) => {
    let got = '';
    const s = connect({ host: ip, port, timeout: TIMEOUT_MS });
    const done = (r: Answer): void => (s.destroy(), resolve(r));
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => done({ reply: got.trim() }));
    s.on('timeout', () => done({ error: 'timeout', ms: Date.now() - start }));
    s.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message, ms: Date.now() - start }));
  });
}

function udpOnce(ip: string, port: number): Promise<Answer> {
  const start = Date.now();
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => done({ error: 'timeout', ms: Date.now() - start }), TIMEOUT_MS);
    const done = (r: Answer): void => (clearTimeout(timer), s.close(), resolve(r));
    s.on('message', (m) => done({ reply: m.toString().trim() }));
    s.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message, ms: Date.now() - start }));
    s.send('who', port, ip);
  });
}

function serve(name: string, tcpPort: number, udpPort: number): void {
  let listening = 0;
  const up = (): void => void (++listening === 2 && process.stdout.write('ready\n'));
  createServer((s) => {
    s.on('error', () => s.destroy());
    s.end(`${name} ${s.remoteAddress ?? '?'}\n`);
  }).listen(tcpPort, '0.0.0.0', up);
  const udp = createSocket('udp4');
  udp.on('message', (_m, rinfo) => udp.send(`${name} ${rinfo.address}\n`, rinfo.port, rinfo.address));
  udp.bind(udpPort, '0.0.0.0', up);
  process.stdin.on('end', () => process.exit(0)); // dies with its parent's pipe
  process.stdin.resume();
}

function udpStream(ip: string, port: number): void {
  const s = createSocket('udp4');
  s.on('message', (m) =>
    process.stdout.write(JSON.stringify({ at: Date.now(), reply: m.toString().trim() }) + '\n'),
  );
  const timer = setInterval(() => s.send('who', port, ip), 50);
  process.stdout.write('ready\n');
  process.stdin.on('end', () => {
    clearInterval(timer);
    setTimeout(() => process.exit(0), 200);
  });
  process.stdin.resume();
}

async function many(once: (ip: string, port: number) => Promise<Answer>): Promise<void> {
  const out: Answer[] = [];
  for (let i = 0; i < Number(c); i++) out.push(await once(a, Number(b)));
  process.stdout.write(JSON.stringify(out) + '\n');
}

if (mode === 'serve') serve(a, Number(b), Number(c));
else if (mode === 'tcp') await many(tcpOnce);
else if (mode === 'udp') await many(udpOnce);
else if (mode === 'udp-stream') udpStream(a, Number(b));
else {
  process.stderr.write('usage: whoami.ts serve|tcp|udp|udp-stream …\n');
  process.exit(2);
}
