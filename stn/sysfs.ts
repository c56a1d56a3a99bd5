// PCI driver rebinding through sysfs, under a configurable root so tests use a fake tree
// (fake-sysfs.ts). Every operation checks the current binding first, so each is idempotent and
// a retry or a recovery after a crash can run it again safely.
import { readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorMessage } from '../lib/errors.ts';
import { SysfsError } from './errors.ts';
import { Deadline, sleep } from '../lib/timing.ts';

export const VFIO_DRIVER = 'vfio-pci';
/** How long rebind waits for its bind to show (asynchronous probing) before returning. */
const BIND_SETTLE_MS = 1_000;

export interface Sysfs {
  /** PCI address behind a network interface, from class/net/<if>/device. */
  pciAddressOf(ifname: string): Promise<string | undefined>;
  /** Driver the device is bound to, or undefined when unbound. */
  driverOf(pci: string): Promise<string | undefined>;
  driverLoaded(driver: string): Promise<boolean>;
  /** Network interfaces the kernel created for the device (empty while vfio-pci holds it). */
  netdevsOf(pci: string): Promise<string[]>;
  /** Unbind from whatever holds it and bind `driver` (with driver_override, as the kernel docs advise). */
  rebind(pci: string, driver: string): Promise<void>;
}

async function readLinkName(path: string): Promise<string | undefined> {
  try {
    return basename(await readlink(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SysfsError(`cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

async function write(path: string, value: string): Promise<void> {
  try {
    await writeFile(path, value);
  } catch (err) {
    throw new SysfsError(`cannot write ${JSON.stringify(value.trim())} to ${path}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

export function createSysfs(root: string): Sysfs {
  const device = (pci: string, ...rest: string[]): string => join(root, 'bus/pci/devices', pci, ...rest);
  const driverDir = (driver: string, ...rest: string[]): string =>
    join(root, 'bus/pci/drivers', driver, ...rest);
  const api: Sysfs = {
    pciAddressOf: (ifname) => readLinkName(join(root, 'class/net', ifname, 'device')),
    driverOf: (pci) => readLinkName(device(pci, 'driver')),
    async driverLoaded(driver) {
      try {
        return (await stat(driverDir(driver))).isDirectory();
      } catch {
        return false;
      }
    },
    async netdevsOf(pci) {
      try {
        return (await readdir(device(pci, 'net'))).sort();
      } catch {
        return [];
      }
    },
    async rebind(pci, driver) {
      const current = await api.driverOf(pci);
      if (current === driver) return;
      // driver_override makes the next probe pick exactly this driver; "\n" clears it, which
      // lets the kernel driver match the device again by its ID table.
      await write(device(pci, 'driver_override'), driver === VFIO_DRIVER ? `${driver}\n` : '\n');
      if (current !== undefined) await write(driverDir(current, 'unbind'), pci);
      await write(driverDir(driver, 'bind'), pci);
      // A driver may probe asynchronously: give the bind a moment to show before the caller
      // checks again, so a retry does not write a second bind while the first is in progress
      // (the kernel refuses that one with EBUSY).
      const deadline = new Deadline(BIND_SETTLE_MS);
      while ((await api.driverOf(pci)) !== driver && !deadline.expired()) await sleep(5);
    },
  };
  return api;
}
