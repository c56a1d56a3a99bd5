import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeSysfs } from './fake-sysfs.ts';
import { createSysfs, VFIO_DRIVER } from './sysfs.ts';

const PCI = '0000:00:03.0';

describe('sysfs driver rebinding (against the fake tree)', () => {
  let root: string;
  let fake: FakeSysfs;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'nl-stn-sysfs-'));
    fake = await new FakeSysfs(root, [{ pci: PCI, driver: 'virtio-pci', ifname: 'ens3' }]).create();
  });
  afterEach(async () => {
    await fake.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('finds the PCI address and driver of an interface', async () => {
    const sys = createSysfs(root);
    expect(await sys.pciAddressOf('ens3')).toBe(PCI);
    expect(await sys.pciAddressOf('nosuch')).toBeUndefined();
    expect(await sys.driverOf(PCI)).toBe('virtio-pci');
    expect(await sys.netdevsOf(PCI)).toEqual(['ens3']);
    expect(await sys.driverLoaded(VFIO_DRIVER)).toBe(true);
    expect(await sys.driverLoaded('ixgbe')).toBe(false);
  });

  it('hands the device to vfio-pci through driver_override, and back', async () => {
    const sys = createSysfs(root);
    await sys.rebind(PCI, VFIO_DRIVER);
    expect(await readFile(join(root, 'bus/pci/devices', PCI, 'driver_override'), 'utf8')).toBe('vfio-pci\n');
    await fake.step();
    expect(await sys.driverOf(PCI)).toBe(VFIO_DRIVER);
    expect(await sys.netdevsOf(PCI)).toEqual([]);
    expect(await sys.pciAddressOf('ens3')).toBeUndefined();

    await sys.rebind(PCI, 'virtio-pci');
    await fake.step();
    expect(await sys.driverOf(PCI)).toBe('virtio-pci');
    expect(await sys.netdevsOf(PCI)).toEqual(['ens3']);
    expect(fake.history).toEqual([
      `unbind virtio-pci ${PCI}`,
      `bind vfio-pci ${PCI}`,
      `unbind vfio-pci ${PCI}`,
      `bind virtio-pci ${PCI}`,
    ]);
    expect(fake.rejected).toEqual([]);
  });

  it('does nothing when the device is already bound to the driver', async () => {
    await createSysfs(root).rebind(PCI, 'virtio-pci');
    await fake.step();
    expect(fake.history).toEqual([]);
  });
});
