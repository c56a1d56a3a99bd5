// A TCP echo server for pods of the netns lab: run inside a pod's namespace, listens on every
// address, prints "ready" once listening. Started with `nsenter --net=<pod> node echo-server.ts <port>`.
import { createServer } from 'node:net';

const port = Number(process.argv[2] ?? 7);
const server = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
});
server.listen(port, '0.0.0.0', () => process.stdout.write('ready\n'));
process.stdin.on('end', () => process.exit(0)); // dies with its parent's pipe
process.stdin.resume();
