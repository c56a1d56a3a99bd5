import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateFileError } from './errors.ts';
import type { StateRecord } from './model.ts';
import { StateStore } from './state-file.ts';

const record = (name: string, phase: StateRecord['phase'] = 'stealing'): StateRecord => ({
  version: 1,
  phase,
  since: '2026-01-01T00:00:00.000Z',
  interface: {
    name,
    mac: 'aa:bb:cc:dd:ee:ff',
    mtu: 1500,
    adminUp: true,
    pciAddress: '',
    kernelDriver: '',
    addresses: [],
    routes: [],
    dhcp: false,
    unbind: false,
  },
});

describe('StateStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nl-stn-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes, reads back, overwrites and removes a record (file mode 0600)', async () => {
    const store = new StateStore(join(dir, 'sub'));
    await store.write(record('eth0'));
    expect((await stat(store.pathOf('eth0'))).mode & 0o777).toBe(0o600);
    await store.write(record('eth0', 'stolen'));
    expect((await store.read('eth0'))?.phase).toBe('stolen');
    expect(await readdir(join(dir, 'sub'))).toEqual(['eth0.json']);
    await store.remove('eth0');
    expect(await store.read('eth0')).toBeUndefined();
  });

  it('lists records and drops temp files a crash left behind', async () => {
    const store = new StateStore(dir);
    await store.write(record('eth1', 'stolen'));
    await store.write(record('eth0'));
    await writeFile(join(dir, 'eth2.json.123.tmp'), '{"half');
    expect((await store.list()).map((r) => r.interface.name)).toEqual(['eth0', 'eth1']);
    expect((await readdir(dir)).sort()).toEqual(['eth0.json', 'eth1.json']);
  });

  it('lists nothing when the directory does not exist yet', async () => {
    expect(await new StateStore(join(dir, 'none')).list()).toEqual([]);
  });

  it('refuses a file that is not a version 1 record', async () => {
    const store = new StateStore(dir);
    await writeFile(store.pathOf('eth0'), '{"version":2}');
    await expect(store.read('eth0')).rejects.toThrow(StateFileError);
    await writeFile(store.pathOf('eth0'), 'not json');
    await expect(store.read('eth0')).rejects.toThrow(/not JSON/);
  });
});
