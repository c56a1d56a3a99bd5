// The pure parts of cli/lab/vpp.ts: the env file build-vpp.sh writes, startup.conf, the uplink's
// startup CLI, and the shared-memory cleanup.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEnvFile, removeVppShm, startupConf, uplinkCli, vppPaths } from './vpp.ts';

describe('lab VPP files', () => {
  it('reads build-vpp.sh env files, ignoring what is not KEY=VALUE', () => {
    expect(
      parseEnvFile('VPP_BIN=/x/vpp\n# note\nVPP_API_DIR=\nnot a line\nVPP_VERSION=v26.10-rc0\n'),
    ).toEqual({
      VPP_BIN: '/x/vpp',
      VPP_API_DIR: '',
      VPP_VERSION: 'v26.10-rc0',
    });
  });

  it('writes startup.conf with its own sockets, the prefix, and the startup CLI when given', () => {
    const paths = vppPaths('/run/l/n1/vpp');
    const conf = startupConf(paths, {
      pluginDir: '/p',
      prefix: 'netloom-l-1',
      startupConfig: '/run/l/n1/vpp/uplink.cli',
    });
    expect(conf).toContain('cli-listen /run/l/n1/vpp/cli.sock');
    expect(conf).toContain('socket-name /run/l/n1/vpp/api.sock');
    expect(conf).toContain('prefix netloom-l-1');
    expect(conf).toContain('startup-config /run/l/n1/vpp/uplink.cli');
    expect(conf).toContain('path /p');
    const plain = startupConf(paths, { pluginDir: '', prefix: 'p' });
    expect(plain).not.toContain('startup-config');
    expect(plain).not.toContain('plugins');
  });

  it('configures the uplink as an operator would: af_packet, up, address', () => {
    expect(uplinkCli('vpp0', '192.168.100.201/24')).toBe(
      'create host-interface name vpp0\nset interface state host-vpp0 up\nset interface ip address host-vpp0 192.168.100.201/24\n',
    );
  });

  it('removes the shared memory of one prefix only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netloom-shm-'));
    try {
      for (const f of ['netloom-a-1-vpe-api', 'netloom-a-1-global_vm', 'netloom-ab-1-vpe-api', 'other'])
        writeFileSync(join(dir, f), '');
      removeVppShm('netloom-a', dir);
      expect(readdirSync(dir).sort()).toEqual(['netloom-ab-1-vpe-api', 'other']);
      removeVppShm('x', join(dir, 'missing')); // no directory: nothing to do
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
