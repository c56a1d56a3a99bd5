// Bad configuration through the real entry point: one line on stderr naming the field, exit 2,
// for every daemon that is registered.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'netloom-cli-'));

function netloom(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'cli/netloom.ts'), ...args],
      { timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

async function registered(): Promise<string[]> {
  const out = await netloom(['help']);
  // `version`, `ctl` (the operator's read-only tool, tested in test/ctl*.test.ts) and `certs` (a
  // one-shot command whose --dir is required before anything else; tested in
  // test/etcd-tls.test.ts) are not daemons.
  return [...out.stderr.matchAll(/^ {2}(\w+) /gm)]
    .map((m) => m[1]!)
    .filter((c) => c !== 'version' && c !== 'ctl' && c !== 'certs');
}

describe('netloom <daemon> with bad configuration', async () => {
  const daemons = await registered();

  it('has daemons to check', () => {
    expect(daemons.length).toBeGreaterThan(0);
  });

  describe.each(daemons)('%s', (daemon) => {
    it('names an unknown key in the file and exits 2', async () => {
      const file = join(dir, `${daemon}-unknown.yaml`);
      writeFileSync(file, 'noSuchSetting: 1\n');
      const out = await netloom([daemon, '--config', file]);
      expect(out.code).toBe(2);
      expect(out.stderr.trim().split('\n')).toEqual([
        `netloom ${daemon}: configuration error: noSuchSetting: unknown setting`,
      ]);
    });

    it('names an unknown flag and exits 2', async () => {
      const out = await netloom([daemon, '--no-such-flag', 'x']);
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(/configuration error: --no-such-flag: unknown flag/);
    });

    it('says which file cannot be read and exits 2', async () => {
      const out = await netloom([daemon, '--config', join(dir, 'missing.yaml')]);
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(/configuration error: config: cannot read .*missing\.yaml: ENOENT/);
    });

    it('names a field of the wrong type and exits 2', async () => {
      const file = join(dir, `${daemon}-type.json`);
      writeFileSync(file, JSON.stringify({ metricsAddr: 42 }));
      const out = await netloom([daemon, '--config', file]);
      expect(out.code).toBe(2);
      // every daemon serves /livez /readyz /metrics on --metrics-addr
      expect(out.stderr).toMatch(/configuration error: metricsAddr: (?!unknown setting)/);
    });
  });
});
