// Taking an interface: read and check everything first (no change on a bad request), record it
// in the state file, then remove routes and addresses, set the link down and optionally hand
// the device to vfio-pci. Each step re-reads the kernel, so running the sequence again after a
// partial run is safe.
import { InvalidInterfaceError, PreconditionError } from './errors.ts';
import { readLink, readSnapshot } from './kernel.ts';
import type { Recorded, Snapshot } from './model.ts';
import { applyLines, type OpContext } from './ops.ts';
import { isStolen, stealAddressLines, stealLinkLines, stealRouteLines } from './plan.ts';
import { converge } from './converge.ts';
import { VFIO_DRIVER } from './sysfs.ts';

export interface StealRequest {
  name: string;
  dhcp: boolean;
  unbind: boolean;
}

/** Reads the interface and checks the request can be carried out. Changes nothing. */
export async function prepareSteal(ctx: OpContext, req: StealRequest): Promise<Recorded> {
  const live = await readSnapshot(ctx.ip, req.name);
  if (live.link.loopback)
    throw new InvalidInterfaceError(`${req.name} is a loopback interface and cannot be stolen`);
  const pci = (await ctx.sysfs.pciAddressOf(req.name)) ?? live.link.parentPci ?? '';
  const driver = pci ? ((await ctx.sysfs.driverOf(pci)) ?? '') : '';
  if (req.unbind) {
    if (!pci)
      throw new PreconditionError(`${req.name} is not a PCI device: it cannot be unbound for vfio-pci`);
    if (!driver || driver === VFIO_DRIVER) {
      throw new PreconditionError(
        `${req.name} (${pci}) is bound to ${driver || 'no driver'}, not a kernel network driver`,
      );
    }
    if (!(await ctx.sysfs.driverLoaded(VFIO_DRIVER))) {
      throw new PreconditionError('the vfio-pci driver is not loaded (modprobe vfio-pci)');
    }
  }
  return {
    name: req.name,
    mac: live.link.mac,
    mtu: live.link.mtu,
    adminUp: live.link.adminUp,
    pciAddress: pci,
    kernelDriver: driver,
    addresses: live.addresses,
    routes: live.routes,
    dhcp: req.dhcp,
    unbind: req.unbind,
  };
}

async function liveOrGone(ctx: OpContext, name: string): Promise<Snapshot | undefined> {
  return (await readLink(ctx.ip, name)) ? readSnapshot(ctx.ip, name) : undefined;
}

/** One kernel step of the steal, applied to whatever is left of it. */
async function kernelStep(ctx: OpContext, name: string, plan: (live: Snapshot) => string[]): Promise<void> {
  const live = await liveOrGone(ctx, name);
  if (live) await applyLines(ctx, plan(live));
}

/** Runs the steal from the start. The caller rolls back on failure. */
export async function runSteal(ctx: OpContext, rec: Recorded, since: string): Promise<void> {
  const step = (s: string): Promise<void> => ctx.afterStep('steal', s, rec.name);
  await ctx.store.write({ version: 1, phase: 'stealing', since, interface: rec });
  await step('record');
  await kernelStep(ctx, rec.name, stealRouteLines);
  await step('routes');
  await kernelStep(ctx, rec.name, stealAddressLines);
  await step('addresses');
  await kernelStep(ctx, rec.name, stealLinkLines);
  await step('link-down');
  await converge({
    what: `taking ${rec.name} from the kernel`,
    timeoutMs: ctx.timeoutMs,
    check: async () => {
      const live = await liveOrGone(ctx, rec.name);
      return !live || isStolen(live)
        ? null
        : `${live.addresses.length} addresses, ${live.routes.length} routes, up=${live.link.adminUp}`;
    },
    apply: async () => {
      const live = await liveOrGone(ctx, rec.name);
      return live
        ? applyLines(ctx, [...stealRouteLines(live), ...stealAddressLines(live), ...stealLinkLines(live)])
        : '';
    },
  });
  await step('verify');
  if (rec.unbind) {
    await converge({
      what: `binding ${rec.pciAddress} to ${VFIO_DRIVER}`,
      timeoutMs: ctx.timeoutMs,
      check: async () => {
        const d = await ctx.sysfs.driverOf(rec.pciAddress);
        return d === VFIO_DRIVER ? null : `bound to ${d ?? 'no driver'}`;
      },
      apply: async () => {
        await ctx.sysfs.rebind(rec.pciAddress, VFIO_DRIVER);
        return '';
      },
    });
    await step('bind-vfio');
  }
  await ctx.store.write({ version: 1, phase: 'stolen', since, interface: rec });
  await step('commit');
}
