// A fake sysfs tree for driver rebinding tests, laid out like the real one where the daemon
// looks (class/net/<if>/device, bus/pci/devices/<pci>/{driver,driver_override,net/}, and
// bus/pci/drivers/<drv>/{bind,unbind}). A poller plays the kernel: it consumes writes to
// bind/unbind, moves the `driver` link and creates or removes the device's netdev entry.
import { mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { VFIO_DRIVER } from './sysfs.ts';
import { sleep } from '../lib/timing.ts';

export interface FakePciDevice {
  pci: string;
  /** Kernel driver it starts bound to. */
  driver: string;
  /** Netdev name the kernel driver creates for it. */
  ifname: string;
}

export class FakeSysfs {
  readonly root: string;
  /** Every bind/unbind the "kernel" carried out, e.g. "unbind virtio-pci 0000:00:03.0". */
  readonly history: string[] = [];
  /** Writes the real kernel would have refused (EINVAL/ENODEV). */
  readonly rejected: string[] = [];
  private readonly devices: FakePciDevice[];
  private readonly drivers: string[];
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  /** Binds seen while the device was still bound, with the passes they have waited. */
  private deferred: { driver: string; pci: string; passes: number }[] = [];

  constructor(root: string, devices: FakePciDevice[], drivers: string[] = [VFIO_DRIVER]) {
    this.root = root;
    this.devices = devices;
    this.drivers = [...new Set([...drivers, ...devices.map((d) => d.driver)])];
  }

  private devDir(pci: string, ...rest: string[]): string {
    return join(this.root, 'devices/pci0000:00', pci, ...rest);
  }

  private drvDir(driver: string, ...rest: string[]): string {
    return join(this.root, 'bus/pci/drivers', driver, ...rest);
  }

  async create(): Promise<this> {
    await mkdir(join(this.root, 'class/net'), { recursive: true });
    await mkdir(join(this.root, 'bus/pci/devices'), { recursive: true });
    for (const drv of this.drivers) {
      await mkdir(this.drvDir(drv), { recursive: true });
      await writeFile(this.drvDir(drv, 'bind'), '');
      await writeFile(this.drvDir(drv, 'unbind'), '');
    }
    for (const d of this.devices) {
      await mkdir(this.devDir(d.pci), { recursive: true });
      await writeFile(this.devDir(d.pci, 'driver_override'), '\n');
      await symlink(this.devDir(d.pci), join(this.root, 'bus/pci/devices', d.pci));
      await this.attach(d, d.driver);
    }
    return this;
  }

  async driverOf(pci: string): Promise<string | undefined> {
    try {
      return basename(await readlink(this.devDir(pci, 'driver')));
    } catch {
      return undefined;
    }
  }

  private async attach(d: FakePciDevice, driver: string): Promise<void> {
    await symlink(this.drvDir(driver), this.devDir(d.pci, 'driver'));
    if (driver === VFIO_DRIVER) return;
    await mkdir(this.devDir(d.pci, 'net', d.ifname), { recursive: true });
    await mkdir(join(this.root, 'class/net', d.ifname), { recursive: true });
    await symlink(this.devDir(d.pci), join(this.root, 'class/net', d.ifname, 'device'));
  }

  private async detach(d: FakePciDevice): Promise<void> {
    await rm(this.devDir(d.pci, 'driver'), { force: true });
    await rm(this.devDir(d.pci, 'net'), { recursive: true, force: true });
    await rm(join(this.root, 'class/net', d.ifname), { recursive: true, force: true });
  }

  /** Takes the pending writes to one bind/unbind file. */
  private async take(driver: string, file: 'bind' | 'unbind'): Promise<string[]> {
    const path = this.drvDir(driver, file);
    // Rename, then read: a write racing with this lands in the renamed file (already open) or
    // in a fresh one, never between a read and a truncate where it would be lost.
    const taking = `${path}.taking`;
    await rename(path, taking);
    await writeFile(path, '', { flag: 'a' });
    const text = await readFile(taking, 'utf8');
    await rm(taking, { force: true });
    if (text.trim() === '') return [];
    return text
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  /** One pass of the "kernel": unbinds first, then binds. */
  async step(): Promise<void> {
    for (const drv of this.drivers) {
      for (const pci of await this.take(drv, 'unbind')) {
        const d = this.devices.find((x) => x.pci === pci);
        if (!d || (await this.driverOf(pci)) !== drv) {
          this.rejected.push(`unbind ${drv} ${pci}`);
          continue;
        }
        await this.detach(d);
        this.history.push(`unbind ${drv} ${pci}`);
      }
    }
    const binds = this.deferred;
    this.deferred = [];
    for (const drv of this.drivers) {
      for (const pci of await this.take(drv, 'bind')) binds.push({ driver: drv, pci, passes: 0 });
    }
    for (const b of binds) await this.bind(b);
  }

  private async bind(b: { driver: string; pci: string; passes: number }): Promise<void> {
    const d = this.devices.find((x) => x.pci === b.pci);
    if (d && (await this.driverOf(b.pci)) !== undefined && b.passes < 3) {
      // The real kernel handles writes one at a time; a poller can see a bind before the
      // unbind written just before it. Give the unbind a few passes before refusing.
      this.deferred.push({ ...b, passes: b.passes + 1 });
      return;
    }
    const override = (await readFile(this.devDir(b.pci, 'driver_override'), 'utf8')).trim();
    if (!d || (await this.driverOf(b.pci)) !== undefined || (override !== '' && override !== b.driver)) {
      this.rejected.push(`bind ${b.driver} ${b.pci}`);
      return;
    }
    await this.attach(d, b.driver);
    this.history.push(`bind ${b.driver} ${b.pci}`);
  }

  start(intervalMs = 5): this {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void this.step()
        .catch(() => undefined)
        .finally(() => (this.busy = false));
    }, intervalMs);
    return this;
  }

  /** Stops the poller; resolves once a pass in flight has finished (so the tree can be removed). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await sleep(5);
  }
}
