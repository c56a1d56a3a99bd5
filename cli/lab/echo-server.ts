// The process of every lab pod, whatever its image: echoes TCP and UDP on each port given on the
// command line. An HTTP request gets a short HTTP answer naming the pod instead, so `curl` works
// too. Identity comes from POD_NAMESPACE, POD_NAME, NODE_NAME. Standalone on purpose (node:net
// only): one starts per pod, and it must start fast and stay small.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const ports = process.argv
  .slice(2)
  .map(Number)
  .filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
const who = `${process.env['POD_NAMESPACE'] ?? '?'}/${process.env['POD_NAME'] ?? '?'} on ${process.env['NODE_NAME'] ?? '?'}`;
const HTTP = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) \S+ HTTP\/1\.[01]\r?\n/;

for (const port of ports.length > 0 ? ports : [8080]) {
  const tcp = createServer((sock) => {
    sock.on('error', () => sock.destroy());
    let first = true;
    sock.on('data', (data) => {
      if (first && HTTP.test(data.toString('latin1'))) {
        const plain = (a: string | undefined): string => (a ?? '?').replace(/^::ffff:/, '');
        const body = `hello from ${who} (${plain(sock.localAddress)}:${port}), you are ${plain(sock.remoteAddress)}\n`;
        sock.end(
          `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
        return;
      }
      first = false;
      sock.write(data);
    });
  });
  // Dual-stack where the pod has IPv6, IPv4 only where it has not.
  tcp.once('error', () => {
    tcp.on('error', (err) => process.stderr.write(`echo-server: tcp ${port}: ${err.message}\n`));
    tcp.listen(port, '0.0.0.0');
  });
  tcp.listen(port, '::');
  const udp = (type: 'udp4' | 'udp6'): void => {
    const s = createSocket(type === 'udp6' ? { type, ipv6Only: false } : { type });
    s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
    s.once('error', (err) =>
      type === 'udp6' ? udp('udp4') : process.stderr.write(`echo-server: udp ${port}: ${err.message}\n`),
    );
    s.bind(port, type === 'udp6' ? '::' : '0.0.0.0');
  };
  udp('udp6');
}
process.on('SIGTERM', () => process.exit(0));
