// Runs the peer servers of bench/vpp-api.ts in a worker thread, so the server side has its own
// event loop (and core) as a real VPP would: either the fake VPP API server, or a raw echo
// server that returns every byte it receives (the socket's floor, no codec at all).
import { createServer } from 'node:net';
import { rm } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { loadApiDirectory } from '../agent/dataplane/vpp/api/definitions.ts';
import { FakeVppServer } from '../agent/dataplane/vpp/fake/server.ts';

const { kind, socketPath, apiDir } = workerData as {
  kind: 'fake' | 'echo';
  socketPath: string;
  apiDir: string;
};

if (kind === 'fake') {
  await FakeVppServer.start({ socketPath, definitions: await loadApiDirectory(apiDir) });
} else {
  await rm(socketPath, { force: true });
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
}
parentPort?.postMessage('ready');
