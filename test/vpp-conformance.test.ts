// The fake VPP kept honest (issue 18): one scripted sequence of requests (vpp-conformance-script.ts)
// run against a real VPP and against the fake must give the same transcript — every retval, every
// reply field and every dumped field the driver reads. The real VPP's transcript is kept in
// vpp-conformance.golden.json (with the version it came from), so on machines without a VPP the
// fake is still held to what a real one answered. To record it again after a VPP upgrade:
//   NETLOOM_VPP_GOLDEN=write npx vitest run --project integration test/vpp-conformance.test.ts
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logging.ts';
import { VppClient } from '../agent/dataplane/vpp/api/client.ts';
import { FakeVppState } from '../agent/dataplane/vpp/fake/state.ts';
import { loadApiDirectory } from '../agent/dataplane/vpp/api/definitions.ts';
import { loadDriverDefinitions } from '../agent/dataplane/vpp/testing/definitions.ts';
import { fakeLab, type FakeLab } from '../agent/dataplane/vpp/testing/fake.ts';
import { addNetns, delNetns, ipBatch } from '../cli/lab/netns.ts';
import { VppInstance } from '../cli/lab/vpp.ts';
import { allOf, netnsAvailable, skipUnless, vppAvailable } from './harness/availability.ts';
import { AF_PACKET_HOST, runScript, type Transcript } from './vpp-conformance-script.ts';
import { runTag, vppBuild } from './vpp-real-support.ts';

const GOLDEN = join(import.meta.dirname, 'vpp-conformance.golden.json');

interface Golden {
  vpp: string;
  transcript: Transcript;
}

/** Through JSON, as the golden file holds it (no undefined members, plain numbers). */
const plain = (t: Transcript): Transcript => JSON.parse(JSON.stringify(t)) as Transcript;
const readGolden = (): Golden => JSON.parse(readFileSync(GOLDEN, 'utf8')) as Golden;

async function fakeTranscript(): Promise<Transcript> {
  let lab: FakeLab | undefined;
  let client: VppClient | undefined;
  try {
    lab = await fakeLab();
    await lab.start({ state: new FakeVppState() });
    client = await VppClient.connect({
      socketPath: lab.socketPath,
      definitions: await loadDriverDefinitions(),
      logger: silentLogger(),
      liveness: false,
    });
    return plain(await runScript(client));
  } finally {
    await client?.close();
    await lab?.cleanup();
  }
}

describe('the fake VPP against the transcript a real VPP gave', () => {
  it('answers the script step by step and ends in the same state', async () => {
    const golden = readGolden();
    const fake = await fakeTranscript();
    // Step by step first: a difference names the request.
    for (const [i, s] of golden.transcript.steps.entries())
      expect([s.step, fake.steps[i]?.outcome]).toEqual([s.step, s.outcome]);
    expect(fake.steps.length).toBe(golden.transcript.steps.length);
    expect(fake.state).toEqual(golden.transcript.state);
  });
});

const skip = skipUnless(
  'the real VPP side of the conformance script',
  allOf(netnsAvailable(), vppAvailable()),
);

describe.skipIf(skip)('a real VPP against the same script', () => {
  const netns = `nvc${runTag}`;
  const dir = mkdtempSync(join(tmpdir(), 'netloom-vpp-conformance-'));
  let vpp: VppInstance | undefined;
  let client: VppClient | undefined;

  beforeAll(async () => {
    await addNetns(netns);
    // The kernel interface the af_packet steps give to VPP.
    await ipBatch(netns, [
      `link add ${AF_PACKET_HOST} type veth peer name ${AF_PACKET_HOST}p`,
      `link set ${AF_PACKET_HOST} up`,
    ]);
    vpp = new VppInstance({ build: vppBuild(), dir, netns, prefix: `nl${netns}` });
    await vpp.start();
    // The build's own definitions, as the agent speaks to its node's VPP (cnat_set_snat_policy
    // has another CRC than v25.10's: its enum grew).
    const build = vppBuild();
    client = await VppClient.connect({
      socketPath: vpp.paths.apiSocket,
      definitions: build.apiDir === '' ? await loadDriverDefinitions() : await loadApiDirectory(build.apiDir),
      logger: silentLogger(),
      liveness: false,
    });
  }, 60_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await vpp?.stop().catch(() => undefined);
    await delNetns(netns).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the golden transcript, and the fake gives the same', async () => {
    const real = plain(await runScript(client!));
    const version = vppBuild().version;
    if (process.env['NETLOOM_VPP_GOLDEN'] === 'write') {
      writeFileSync(GOLDEN, `${JSON.stringify({ vpp: version, transcript: real }, null, 1)}\n`);
      process.stderr.write(`vpp-conformance: ${GOLDEN} written from VPP ${version}\n`);
    }
    const fake = await fakeTranscript();
    for (const [i, s] of real.steps.entries())
      expect([s.step, fake.steps[i]?.outcome]).toEqual([s.step, s.outcome]);
    expect(fake.state).toEqual(real.state);
    expect(real).toEqual(readGolden().transcript);
    process.stderr.write(
      `vpp-conformance: VPP ${version} and the fake agree on ${real.steps.length} steps and ${Object.keys(real.state).length} dumps\n`,
    );
  }, 60_000);
});
