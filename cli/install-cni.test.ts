import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installCni, installCniSchema } from './install-cni.ts';

describe('installCni', () => {
  it('installs runtime, shim and conflist with the agent socket, atomically named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netloom-install-'));
    const shim = join(dir, 'netloom-cni');
    writeFileSync(shim, '#!/opt/netloom/bin/node\n');
    const config = installCniSchema.parse({
      shim,
      conflist: new URL('../deploy/netloom.conflist', import.meta.url).pathname,
      cniBinDir: join(dir, 'opt/cni/bin'),
      cniConfDir: join(dir, 'etc/cni/net.d'),
      nodeDir: join(dir, 'opt/netloom/bin'),
      agentSocket: '/run/netloom/node-a.sock',
    });
    const files = installCni(config, process.execPath);
    expect(files).toEqual([
      join(dir, 'opt/netloom/bin/node'),
      join(dir, 'opt/cni/bin/netloom'),
      join(dir, 'etc/cni/net.d/10-netloom.conflist'),
    ]);
    expect(statSync(files[1]!).mode & 0o777).toBe(0o755);
    expect(statSync(files[0]!).size).toBe(statSync(process.execPath).size);
    const conf = JSON.parse(readFileSync(files[2]!, 'utf8')) as {
      plugins: { type: string; agentSocket?: string }[];
    };
    expect(conf.plugins.map((p) => p.type)).toEqual(['netloom', 'portmap']);
    expect(conf.plugins[0]!.agentSocket).toBe('/run/netloom/node-a.sock');
  });

  it('installs a self-contained shim (bun --compile) without a runtime', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netloom-install-'));
    const shim = join(dir, 'netloom-cni');
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(64, 1)]);
    writeFileSync(shim, elf);
    const config = installCniSchema.parse({
      shim,
      conflist: new URL('../deploy/netloom.conflist', import.meta.url).pathname,
      cniBinDir: join(dir, 'opt/cni/bin'),
      cniConfDir: join(dir, 'etc/cni/net.d'),
      nodeDir: join(dir, 'opt/netloom/bin'),
    });
    const files = installCni(config, process.execPath);
    expect(files).toEqual([join(dir, 'opt/cni/bin/netloom'), join(dir, 'etc/cni/net.d/10-netloom.conflist')]);
    expect(readFileSync(files[0]!)).toEqual(elf);
    expect(existsSync(join(dir, 'opt/netloom/bin/node'))).toBe(false);
  });
});
