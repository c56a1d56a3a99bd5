import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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

  it('copies the chained plugins from --plugin-dir unless the node has them; refuses one found nowhere', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netloom-install-'));
    const shim = join(dir, 'netloom-cni');
    writeFileSync(shim, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 2]));
    const pluginDir = join(dir, 'usr/lib/cni');
    const binDir = join(dir, 'opt/cni/bin');
    mkdirSync(pluginDir, { recursive: true });
    writeFileSync(join(pluginDir, 'portmap'), 'image portmap');
    const base = {
      shim,
      conflist: new URL('../deploy/netloom.conflist', import.meta.url).pathname,
      cniBinDir: binDir,
      cniConfDir: join(dir, 'etc/cni/net.d'),
      nodeDir: join(dir, 'opt/netloom/bin'),
    };
    const files = installCni(installCniSchema.parse({ ...base, pluginDir }));
    expect(files).toEqual([
      join(binDir, 'netloom'),
      join(binDir, 'portmap'),
      join(base.cniConfDir, '10-netloom.conflist'),
    ]);
    expect(readFileSync(join(binDir, 'portmap'), 'utf8')).toBe('image portmap');
    expect(statSync(join(binDir, 'portmap')).mode & 0o777).toBe(0o755);

    // The node's own portmap (kubeadm's kubernetes-cni, say) is kept.
    writeFileSync(join(binDir, 'portmap'), 'node portmap');
    expect(installCni(installCniSchema.parse({ ...base, pluginDir }))).not.toContain(join(binDir, 'portmap'));
    expect(readFileSync(join(binDir, 'portmap'), 'utf8')).toBe('node portmap');

    // Neither has it: an error naming it, and no conflist that would fail every pod.
    const bare = mkdtempSync(join(tmpdir(), 'netloom-install-'));
    const confDir = join(bare, 'net.d');
    expect(() =>
      installCni(
        installCniSchema.parse({
          ...base,
          cniBinDir: join(bare, 'bin'),
          cniConfDir: confDir,
          pluginDir: join(bare, 'none'),
        }),
      ),
    ).toThrow(/pluginDir: the conflist chains portmap, found neither in .*\/bin nor in .*\/none/);
    expect(existsSync(join(confDir, '10-netloom.conflist'))).toBe(false);
  });
});
