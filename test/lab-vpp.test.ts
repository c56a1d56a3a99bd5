// `netloom lab up --dataplane vpp` (issue 18): a real VPP per node namespace, its uplink the
// node's second underlay port by af_packet, the agents on `--dataplane vpp` with veth pod
// interfaces. Real packets: `lab check` has every pod reach every other, across the nodes through
// the VPPs' VXLAN; an agent restart makes zero VPP changes (its start resync, as it logs it);
// VPP killed with -9 is started again by the lab's supervisor, the agent reconnects and resyncs,
// and every pair reaches again; `lab down` leaves nothing, VPP's shared memory included.
// Skipped loudly where there is no VPP (CI keeps the fake).
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOf, skipUnless, vppAvailable } from './harness/availability.ts';
import { labAvailable, TestLab, waitFor } from './lab-support.ts';

const skip = skipUnless(
  'lab on the vpp data plane (test/lab-vpp.test.ts)',
  allOf(labAvailable(), vppAvailable()),
);
const PODS = 6;

describe.skipIf(skip)('netloom lab --dataplane vpp: pods through a VPP per node', () => {
  const lab = new TestLab({ nodes: 2, args: ['--dataplane', 'vpp'] });
  const nodes = lab.layout.nodes.map((n) => n.name);

  /** Every pair of pods reached, polled (VPP may still be coming back). */
  async function allPairs(what: string): Promise<void> {
    await waitFor(
      what,
      async () => {
        const c = await lab.check();
        return c.pods === PODS && c.ok === PODS * (PODS - 1) && c.failures.length === 0 ? c : undefined;
      },
      90_000,
      1_000,
    );
  }

  beforeAll(async () => {
    const up = await lab.up();
    expect(up.code, up.stderr).toBe(0);
    await lab.kubectl(['create', 'deployment', 'echo', '--image=echo', `--replicas=${PODS}`, '--port=8080']);
    await waitFor(
      'pods Running on both nodes',
      async () => {
        const p = [...(await lab.pods('app=echo')).values()];
        return p.length === PODS &&
          p.every((x) => x.phase === 'Running' && x.ip) &&
          nodes.every((n) => p.some((x) => x.node === n))
          ? p
          : undefined;
      },
      90_000,
      300,
    );
  }, 240_000);

  afterAll(async () => {
    expect(await lab.destroy()).toEqual([]);
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith(`netloom-${lab.name}-`))).toEqual([]);
  }, 120_000);

  it('every pod reaches every other, across nodes through the VPPs', async () => {
    const status = await lab.status();
    for (const n of nodes) expect(status.components.find((c) => c.name === `vpp-${n}`)?.ready).toBe(true);
    await allPairs('lab check: all pairs');
  }, 120_000);

  it('an agent restart makes zero VPP changes', async () => {
    for (const n of nodes) {
      const before = lab.pid(`agent-${n}`);
      const r = await lab.netloom(['restart', `agent-${n}`]);
      expect(r.code, r.stderr).toBe(0);
      const counts = await waitFor(
        `agent-${n}'s start resync`,
        () => {
          if (lab.pid(`agent-${n}`) === before) return Promise.resolve(undefined);
          const line = lab
            .log(`agent-${n}`, 200)
            .split('\n')
            .filter((l) => l.includes('"reason":"start"'))
            .at(-1);
          const m = line === undefined ? null : /"counts":(\{[^}]*\})/.exec(line);
          return Promise.resolve(m ? (JSON.parse(m[1]!) as Record<string, number>) : undefined);
        },
        30_000,
        200,
      );
      expect(counts).toEqual({ create: 0, update: 0, delete: 0 });
    }
    await allPairs('lab check after the agent restarts');
  }, 180_000);

  it('VPP killed: started again, the agent resyncs, every pair reaches again', async () => {
    const n = nodes[0]!;
    const pid = lab.pid(`vpp-${n}`);
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await waitFor(
      `vpp-${n} running again`,
      async () => {
        const again = lab.pid(`vpp-${n}`);
        if (again === undefined || again === pid) return undefined;
        const s = await lab.status();
        return s.components.find((c) => c.name === `vpp-${n}`)?.ready === true ? again : undefined;
      },
      60_000,
      500,
    );
    await allPairs('lab check after the VPP restart');
    expect(lab.log(`agent-${n}`, 400)).toContain('data plane reconnected: resyncing');
  }, 180_000);
});
