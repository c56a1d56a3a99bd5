// `lab down` after a crash leaves the machine clean: `lab up` killed with SIGKILL half-way
// (daemons started, namespaces made), and a lab whose pid files are lost (down must then find
// its processes by their NETLOOM_LAB marker and by the namespaces they live in). The host's own
// links and routes are never touched.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../cli/lab/exec.ts';
import { skipUnless } from './harness/availability.ts';
import { labAvailable, TestLab, waitFor } from './lab-support.ts';

const skip = skipUnless('lab crash clean-up (test/lab-crash.test.ts)', labAvailable());

async function hostView(): Promise<{ links: string[]; routes: string[] }> {
  const links = JSON.parse((await run('ip', ['-j', 'link', 'show'])).stdout) as { ifname: string }[];
  const routes = JSON.parse((await run('ip', ['-j', 'route', 'show', 'table', 'all'])).stdout) as {
    dst: string;
    dev?: string;
  }[];
  return { links: links.map((l) => l.ifname), routes: routes.map((r) => `${r.dst} ${r.dev ?? ''}`) };
}

describe.skipIf(skip)('netloom lab down after crashes', () => {
  const labs: TestLab[] = [];
  afterAll(async () => {
    for (const l of labs) await l.destroy();
  });

  it('cleans up after `lab up` is killed with SIGKILL half-way through starting', async () => {
    const lab = new TestLab({ nodes: 3 });
    labs.push(lab);
    const before = await hostView();
    const up = lab.spawnUp();
    let out = '';
    up.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    // Killed once the daemons are being started: etcd runs, agents and the API server are on their way.
    const agentPid = join(lab.layout.files.pids, `agent-${lab.layout.nodes[0]!.name}.pid`);
    await waitFor(
      'lab up to start its daemons',
      async () => existsSync(join(lab.layout.files.pids, 'kube-apiserver.pid')) && existsSync(agentPid),
      60_000,
      50,
    );
    up.kill('SIGKILL');
    await new Promise((r) => up.once('exit', r));
    const left = await lab.leftovers();
    expect(left.some((l) => l.startsWith('process '))).toBe(true);
    expect(left.some((l) => l.startsWith('netns '))).toBe(true);

    const down = await lab.netloom(['down']);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(await lab.leftovers()).toEqual([]);
    const after = await hostView();
    expect(after.links.filter((l) => !before.links.includes(l) && /^(br0|node\d+|eth0)$/.test(l))).toEqual(
      [],
    );
    expect(
      after.routes.filter((r) => !before.routes.includes(r) && /^(192\.168\.100\.|10\.1\.)/.test(r)),
    ).toEqual([]);
    process.stdout.write(
      `[lab-crash] lab up killed after: ${out.trim().split('\n').length} progress lines; lab down: ${down.stdout.trim()}\n`,
    );
  });

  it('cleans up a running lab with pods whose pid files are lost', async () => {
    const lab = new TestLab({ nodes: 2 });
    labs.push(lab);
    await lab.up();
    await lab.kubectl(['run', 'solo', '--image=echo', '--port=8080']);
    await lab.kubectl(['create', 'deployment', 'few', '--image=echo', '--replicas=4']);
    await waitFor(
      '5 pods Running',
      async () => {
        const p = await lab.pods();
        return p.size === 5 && [...p.values()].every((x) => x.phase === 'Running' && x.ip);
      },
      90_000,
      250,
    );
    // Lose every pid file: down must find the daemons and pod processes by marker and namespace.
    rmSync(lab.layout.files.pids, { recursive: true, force: true });
    rmSync(lab.layout.files.pods, { recursive: true, force: true });
    const left = await lab.leftovers();
    expect(left.filter((l) => l.startsWith('netns ')).length).toBe(1 + 2 + 5);

    const down = await lab.netloom(['down']);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(await lab.leftovers()).toEqual([]);
  });
});
