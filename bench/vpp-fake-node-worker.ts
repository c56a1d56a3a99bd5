// The fake VPP of bench/vpp-real-pods.ts in a worker thread, so that it has its own event loop (and
// core) as the real VPP has its own process: booted as driver-lab.ts boots it (its uplink NIC
// configured, nothing else).
import { parentPort, workerData } from 'node:worker_threads';
import { FakeVppServer } from '../agent/dataplane/vpp/fake/server.ts';
import { bootedState } from '../agent/dataplane/vpp/testing/driver-lab.ts';
import { loadV25Definitions } from '../agent/dataplane/vpp/testing/definitions.ts';

const { socketPath } = workerData as { socketPath: string };

await FakeVppServer.start({ socketPath, definitions: await loadV25Definitions(), state: bootedState() });
parentPort?.postMessage('ready');
