// `npm test` is strict where it matters: a suite whose component is missing is skipped loudly on
// a developer's machine, but fails the run under CI (or NETLOOM_REQUIRE), naming the component,
// both in the suite's own output and in scripts/test.sh's final summary. Proven on a real suite
// (test/kube-apiserver.test.ts) run by a child vitest with kube-apiserver made unfindable.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  allOf,
  CI_REQUIRED,
  COMPONENTS,
  requiredComponents,
  verdict,
  type Availability,
} from './harness/availability.ts';
import { summarize } from '../scripts/test-summary.ts';

const ROOT = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'netloom-availability-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('which components are required', () => {
  it('nothing on a developer machine; the CI set under CI; NETLOOM_REQUIRE decides when set', () => {
    expect([...requiredComponents({})]).toEqual([]);
    expect([...requiredComponents({ CI: 'false' })]).toEqual([]);
    expect([...requiredComponents({ CI: '0' })]).toEqual([]);
    expect([...requiredComponents({ CI: 'true' })]).toEqual([...CI_REQUIRED]);
    expect([...requiredComponents({ CI: '1' })]).toEqual([...CI_REQUIRED]);
    expect([...requiredComponents({ NETLOOM_REQUIRE: 'all' })]).toEqual([...COMPONENTS]);
    expect([...requiredComponents({ NETLOOM_REQUIRE: 'etcd, kube-apiserver' })]).toEqual([
      'etcd',
      'kube-apiserver',
    ]);
    expect([...requiredComponents({ CI: 'true', NETLOOM_REQUIRE: 'none' })]).toEqual([]);
    expect([...requiredComponents({ CI: 'true', NETLOOM_REQUIRE: 'kubectl' })]).toEqual(['kubectl']);
    expect(() => requiredComponents({ NETLOOM_REQUIRE: 'etcd,kube-apiserevr' })).toThrow(
      /unknown component kube-apiserevr/,
    );
  });

  it('words the line by verdict and names the first missing part of a combined requirement', () => {
    const missing = allOf(
      { ok: true, detail: 'root' },
      { ok: false, component: 'cni-plugins', reason: 'no portmap in /usr/lib/cni' },
      { ok: false, component: 'etcd', reason: 'no etcd' },
    ) as Extract<Availability, { ok: false }>;
    expect(missing.component).toBe('cni-plugins');
    expect(verdict('lab', missing, {}).line).toBe(
      '*** SKIPPED lab: cni-plugins: no portmap in /usr/lib/cni ***',
    );
    expect(verdict('lab', missing, { CI: 'true' })).toEqual({
      required: true,
      line: '*** REQUIRED but missing: cni-plugins: no portmap in /usr/lib/cni (suite: lab; CI=true) ***',
    });
  });

  it('the summary exits non-zero for a required component, a failed test or a file that did not load', () => {
    const report = (failedFile = false) => ({
      numPassedTests: 3,
      numFailedTests: 0,
      numPendingTests: 1,
      numTodoTests: 0,
      testResults: [{ name: 'x', status: failedFile ? 'failed' : 'passed', assertionResults: [] }],
    });
    const skipped = JSON.stringify({ suite: 's', component: 'kubectl', reason: 'none', required: false });
    const required = JSON.stringify({ suite: 'k', component: 'etcd', reason: 'gone', required: true });
    expect(summarize(`${skipped}\n`, [report()])).toEqual({
      lines: ['tests: 3 passed, 0 failed, 1 skipped', '*** SKIPPED kubectl: none (s) ***'],
      failed: false,
    });
    expect(summarize(`${required}\n`, [report(true)])).toEqual({
      lines: [
        'tests: 3 passed, 0 failed, 1 skipped; 1 test files failed to load',
        '*** REQUIRED but missing: etcd: gone (k) ***',
      ],
      failed: true,
    });
    expect(summarize('', [report(), undefined]).failed).toBe(true);
  });
});

/** A child vitest on the kube-apiserver suite, its binary overridden with a path that does not exist. */
function runSuite(env: Record<string, string>): { status: number | null; output: string; summary?: string } {
  const dir = mkdtempSync(join(tmp, 'run-'));
  const log = join(dir, 'availability.jsonl');
  const report = join(dir, 'report.json');
  writeFileSync(log, '');
  // The parent's vitest and CI settings must not leak into the child: it decides for itself.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(VITEST|CI$|NETLOOM_|DOCKER_HOST$|NODE_OPTIONS$|TEST$)/.test(k),
    ),
  );
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--project',
      'integration',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
      'test/kube-apiserver.test.ts',
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...inherited,
        // An override naming no binary is missing, even with a build in the cache.
        NETLOOM_KUBE_APISERVER: '/nonexistent/kube-apiserver',
        NETLOOM_AVAILABILITY_LOG: log,
        ...env,
      },
    },
  );
  const summary = spawnSync(process.execPath, [join(ROOT, 'scripts', 'test-summary.ts'), log, report], {
    encoding: 'utf8',
  });
  return {
    status: r.status,
    output: `${r.stdout}${r.stderr}`,
    summary: `${summary.stdout}exit ${summary.status}`,
  };
}

describe('a suite whose component is missing', () => {
  it('fails the run under CI=true, with one line naming kube-apiserver, also in the summary', () => {
    const r = runSuite({ CI: 'true' });
    expect(r.status, r.output).not.toBe(0);
    expect(r.output).toMatch(
      /\*\*\* REQUIRED but missing: kube-apiserver: NETLOOM_KUBE_APISERVER=\/nonexistent\/kube-apiserver is not an executable file .*\*\*\*/,
    );
    expect(r.output).not.toMatch(/\*\*\* SKIPPED kube-apiserver/);
    expect(r.summary).toMatch(/^\*\*\* REQUIRED but missing: kube-apiserver: .*\(kube-apiserver\) \*\*\*$/m);
    expect(r.summary).toMatch(/exit 1$/);
  });

  it('fails it when NETLOOM_REQUIRE names the component, without CI', () => {
    const r = runSuite({ NETLOOM_REQUIRE: 'kube-apiserver' });
    expect(r.status, r.output).not.toBe(0);
    expect(r.output).toMatch(/REQUIRED but missing: kube-apiserver: .*NETLOOM_REQUIRE=kube-apiserver/);
  });

  it('is skipped loudly without CI, and the run passes', () => {
    const r = runSuite({});
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(
      /\*\*\* SKIPPED kube-apiserver: kube-apiserver: NETLOOM_KUBE_APISERVER=\/nonexistent\/kube-apiserver is not an executable file \*\*\*/,
    );
    expect(r.output).not.toMatch(/REQUIRED but missing: kube-apiserver/);
    expect(r.summary).toMatch(/^\*\*\* SKIPPED kube-apiserver: .*\*\*\*$/m);
    expect(r.summary).toMatch(/exit 0$/);
  });

  it('a typo in NETLOOM_REQUIRE stops the run before any suite', () => {
    const r = runSuite({ NETLOOM_REQUIRE: 'kube-apiserevr' });
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/NETLOOM_REQUIRE: unknown component kube-apiserevr/);
  });
});
