// Reachability probes from inside one lab namespace, all at once, each with a short deadline:
//   reach.ts <proto>:<ip>:<port> ...   (proto tcp or udp)
// prints {"<proto>:<ip>:<port>": true|false} as one JSON line. TCP: connected. UDP: the echo
// server sent the datagram back (a dropped or rejected datagram gets no answer).
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

const DEADLINE_MS = 1_500;

function tcp(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port, timeout: DEADLINE_MS });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.on('connect', () => done(true));
    s.on('timeout', () => done(false));
    s.on('error', () => done(false));
  });
}

function udp(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const token = `reach-${process.pid}-${ip}-${port}`;
    const t = setTimeout(() => (s.close(), resolve(false)), DEADLINE_MS);
    s.on('message', (m) => {
      if (m.toString() !== token) return;
      clearTimeout(t);
      s.close();
      resolve(true);
    });
    s.on('error', () => (clearTimeout(t), s.close(), resolve(false)));
    s.send(token, port, ip);
  });
}

const targets = process.argv.slice(2);
const results = await Promise.all(
  targets.map(async (t) => {
    const [proto, ip = '', port = '0'] = t.split(':');
    return [t, await (proto === 'udp' ? udp(ip, Number(port)) : tcp(ip, Number(port)))] as const;
  }),
);
process.stdout.write(JSON.stringify(Object.fromEntries(results)) + '\n');
