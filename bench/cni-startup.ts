// The CNI shim's start-up on each runtime it can be built for (ADR 0009), against the reference
// `bridge` plugin (Go), all measured in the same run and interleaved so machine noise hits every
// subject alike:
//   VERSION      exec to exit, no agent: what starting the binary costs.
//   ADD→DEL      an ADD and then a DEL of the same container, each exec to exit, against an agent
//                socket that answers at once (grpc-js serving proto/cni.proto with a canned
//                result): the shim's whole share of a pod's network set-up and tear-down. The
//                reference is bridge + host-local in namespaces of their own (real links, so it
//                includes kernel work the stub agent skips), run through `ip netns exec`, whose
//                own cost is shown beside it.
// Subjects: the Node bundle without and with the V8 compile cache, the Node bundle from a start-up
// snapshot (node --build-snapshot; an experiment, not a build option), Bun running the bundle,
// Bun's single-file executable, and the runtime floors (`node -e 0`, `bun -e 0`).
// stdin is a file, not a pipe, so the bench's own event loop is not part of what it measures.
// Usage: npm run bench:cni-startup [-- --runs 200] [--add-runs 100]
import { execFile, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Server, ServerCredentials, loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { buildCni, bundleCni, findBun } from '../scripts/build-cni.ts';
import { Lab } from '../test/lab/netns.ts';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) || fallback : fallback;
};
const runs = arg('--runs', 200);
const addRuns = arg('--add-runs', 100);
const REFERENCE_DIR = '/usr/lib/cni';
const node = process.execPath;
const run = promisify(execFile);

/** One exec to exit in ms; stdin from a file; fails on a non-zero exit. */
function once(cmd: string, args: string[], env: NodeJS.ProcessEnv, stdinFile: string): Promise<number> {
  const fd = openSync(stdinFile, 'r');
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: [fd, 'pipe', 'pipe'] });
    closeSync(fd);
    let output = ''; // a failing plugin says why on stdout (the CNI error), diagnostics on stderr
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${output.trim()}`));
      else resolve(ms);
    });
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** The Node bundle started from a V8 start-up snapshot: main runs at deserialization. */
async function buildSnapshot(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const bundle = join(dir, 'bundle.js');
  await bundleCni(bundle);
  const text = readFileSync(bundle, 'utf8');
  // bin.ts ends in `main().catch(…)`; the snapshot must instead defer it to deserialization.
  const call = /(\w+)\(\)\.catch\([^]*$/.exec(text);
  if (!call) throw new Error('snapshot: the bundle does not end in main().catch(...)');
  const entry = join(dir, 'entry.js');
  writeFileSync(
    entry,
    `${text.slice(0, call.index)}require('node:v8').startupSnapshot.setDeserializeMainFunction(()=>{${call[0].trim().replace(/;$/, '')}});\n`,
  );
  writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  const blob = join(dir, 'snapshot.blob');
  await run(node, ['--snapshot-blob', blob, '--build-snapshot', entry], { cwd: dir });
  const launcher = join(dir, 'netloom');
  writeFileSync(launcher, `#!/usr/bin/env -S ${node} --snapshot-blob ${blob}\n`, { mode: 0o755 });
  return launcher;
}

async function stubAgent(socket: string): Promise<Server> {
  const definition = loadSync(new URL('../proto/cni.proto', import.meta.url).pathname, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = loadPackageDefinition(definition) as unknown as {
    netloom: { cni: { v1: { Cni: { service: ServiceDefinition } } } };
  };
  const result = {
    interfaces: [{ name: 'eth0', mac: '0a:58:0a:01:01:07', mtu: 1450, sandbox: '/run/netns/p' }],
    ips: [{ address: '10.1.1.7/32', gateway: '169.254.1.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
  };
  const server = new Server();
  const reply = (withResult: boolean) => (_call: unknown, cb: (e: null, r: object) => void) =>
    cb(null, withResult ? { result } : {});
  server.addService(pkg.netloom.cni.v1.Cni.service, {
    Add: reply(true),
    Del: reply(false),
    Check: reply(false),
    Status: reply(false),
    Gc: reply(false),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return server;
}

type Subject = [name: string, run: () => Promise<number>];

function report(title: string, subjects: Subject[], times: Map<string, number[]>, refPrefix: string): void {
  const rows = subjects.map(([name]) => {
    const t = times.get(name)!.sort((a, b) => a - b);
    return { name, p50: pct(t, 50), p99: pct(t, 99) };
  });
  const ref = rows.find((r) => r.name.startsWith(refPrefix));
  console.log(title);
  for (const r of rows) {
    const ratio = ref ? `  (${(r.p50 / ref.p50).toFixed(2)}× reference p50)` : '';
    console.log(
      `  ${r.name.padEnd(44)} p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms${ratio}`,
    );
  }
}

async function measure(subjects: Subject[], n: number): Promise<Map<string, number[]>> {
  const times = new Map<string, number[]>(subjects.map(([name]) => [name, []]));
  for (let i = 0; i < 5; i++) for (const [, go] of subjects) await go(); // warm caches (and the compile cache)
  for (let i = 0; i < n; i++) for (const [name, go] of subjects) times.get(name)!.push(await go());
  return times;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'netloom-bench-'));
  const lab = new Lab();
  let agent: Server | undefined;
  try {
    const shims: [string, string][] = [
      ['node', await buildCni(join(dir, 'node/netloom'), { runtime: 'node', cacheDir: '' })],
      [
        'node + compile cache',
        await buildCni(join(dir, 'node-cc/netloom'), { runtime: 'node', cacheDir: join(dir, 'cc') }),
      ],
    ];
    try {
      shims.push(['node start-up snapshot', await buildSnapshot(join(dir, 'snapshot'))]);
    } catch (err) {
      console.log(
        `*** node start-up snapshot not measured: ${err instanceof Error ? err.message : String(err)} ***`,
      );
    }
    const bun = findBun();
    if (bun) {
      shims.push(['bun', await buildCni(join(dir, 'bun/netloom'), { runtime: 'bun', runtimePath: bun })]);
      shims.push([
        'bun --compile',
        await buildCni(join(dir, 'bun-compile/netloom'), { runtime: 'bun-compile', runtimePath: bun }),
      ]);
    } else {
      console.log('*** Bun missing (npm ci installs it): Bun rows not measured ***');
    }

    const versionIn = join(dir, 'version.json');
    writeFileSync(versionIn, '{"cniVersion":"1.0.0"}');
    const env = { PATH: process.env['PATH'] ?? '', CNI_COMMAND: 'VERSION' };
    const version: Subject[] = shims.map(([name, file]) => [
      `shim VERSION, ${name}`,
      () => once(file, [], env, versionIn),
    ]);
    version.push(['node -e 0 (Node floor)', () => once(node, ['-e', '0'], env, versionIn)]);
    if (bun) version.push(['bun -e 0 (Bun floor)', () => once(bun, ['-e', '0'], env, versionIn)]);
    const bridge = join(REFERENCE_DIR, 'bridge');
    if (existsSync(bridge))
      version.push(['reference bridge VERSION (Go)', () => once(bridge, [], env, versionIn)]);
    else console.log(`*** ${bridge} missing (apt-get install containernetworking-plugins): no reference ***`);
    report(
      `VERSION, exec to exit, ${runs} runs each, interleaved`,
      version,
      await measure(version, runs),
      'reference',
    );

    // ADD→DEL against an agent that answers at once.
    const socket = join(dir, 'agent.sock');
    agent = await stubAgent(socket);
    const addIn = join(dir, 'add.json');
    writeFileSync(
      addIn,
      JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'netloom', agentSocket: socket }),
    );
    const cniEnv = (command: string): NodeJS.ProcessEnv => ({
      PATH: process.env['PATH'] ?? '',
      CNI_COMMAND: command,
      CNI_CONTAINERID: 'bench0',
      CNI_NETNS: '/run/netns/bench',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=bench',
    });
    const pair = async (file: string): Promise<number> =>
      (await once(file, [], cniEnv('ADD'), addIn)) + (await once(file, [], cniEnv('DEL'), addIn));
    const adds: Subject[] = shims.map(([name, file]) => [`shim ADD→DEL, ${name}`, () => pair(file)]);
    if (existsSync(bridge) && process.getuid?.() === 0) {
      // bridge creates its bridge in the namespace it runs in: a node namespace of its own.
      const nodeNs = await lab.netns('node');
      const podNs = await lab.netns('pod');
      const refIn = join(dir, 'bridge.json');
      writeFileSync(
        refIn,
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'bench-ref',
          type: 'bridge',
          bridge: 'nlbench0',
          isGateway: true,
          ipam: { type: 'host-local', subnet: '10.99.0.0/16', dataDir: join(dir, 'host-local') },
        }),
      );
      const refEnv = (command: string): NodeJS.ProcessEnv => ({
        ...cniEnv(command),
        CNI_NETNS: `/run/netns/${podNs}`,
        CNI_PATH: REFERENCE_DIR,
        CNI_ARGS: `IgnoreUnknown=1;${cniEnv(command)['CNI_ARGS']}`, // as kubelet passes them
      });
      const inNode = ['netns', 'exec', nodeNs];
      adds.push([
        'reference bridge+host-local ADD→DEL (Go)',
        async () =>
          (await once('ip', [...inNode, bridge], refEnv('ADD'), refIn)) +
          (await once('ip', [...inNode, bridge], refEnv('DEL'), refIn)),
      ]);
      adds.push([
        '  of which `ip netns exec` ×2',
        async () =>
          (await once('ip', [...inNode, 'true'], {}, refIn)) +
          (await once('ip', [...inNode, 'true'], {}, refIn)),
      ]);
    }
    report(
      `ADD then DEL, exec to exit, ${addRuns} pairs each, interleaved`,
      adds,
      await measure(adds, addRuns),
      'reference',
    );
  } finally {
    agent?.forceShutdown();
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
