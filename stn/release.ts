// Giving an interface back, the exact reverse of a steal: kernel driver rebound (and the netdev
// renamed back if the kernel chose another name), MAC/MTU/admin state, addresses, routes, each
// applied only where the live state differs and retried until the kernel shows all of it.
// Works from any point a steal or an earlier release stopped at.
import { KernelError } from './errors.ts';
import { readLink, readSnapshot } from './kernel.ts';
import type { Recorded, Snapshot, StateRecord } from './model.ts';
import { applyLines, type OpContext } from './ops.ts';
import { addressRestoreLines, isReleased, linkRestoreLines, releaseDiff, routeRestoreLines } from './plan.ts';
import { converge } from './converge.ts';

async function rebindKernelDriver(ctx: OpContext, rec: Recorded): Promise<void> {
  await converge({
    what: `binding ${rec.pciAddress} back to ${rec.kernelDriver}`,
    timeoutMs: ctx.timeoutMs,
    check: async () => {
      const d = await ctx.sysfs.driverOf(rec.pciAddress);
      if (d !== rec.kernelDriver) return `bound to ${d ?? 'no driver'}`;
      return (await ctx.sysfs.netdevsOf(rec.pciAddress)).length > 0 ? null : 'no network interface yet';
    },
    apply: async () => {
      await ctx.sysfs.rebind(rec.pciAddress, rec.kernelDriver);
      return '';
    },
  });
  // A fresh netdev may get another name (eth0 instead of enp0s3): give it the recorded one.
  const [current] = await ctx.sysfs.netdevsOf(rec.pciAddress);
  if (current && current !== rec.name && !(await readLink(ctx.ip, rec.name))) {
    ctx.logger.info({ interface: rec.name, kernelName: current }, 'renaming the rebound interface');
    await applyLines(ctx, [`link set dev ${current} down`, `link set dev ${current} name ${rec.name}`]);
  }
}

async function restoreKernelConfig(ctx: OpContext, rec: Recorded): Promise<void> {
  const step = (s: string): Promise<void> => ctx.afterStep('release', s, rec.name);
  const live = (): Promise<Snapshot> => readSnapshot(ctx.ip, rec.name);
  await applyLines(ctx, linkRestoreLines(rec, await live()));
  await step('link');
  await applyLines(ctx, addressRestoreLines(rec, await live()));
  await step('addresses');
  await applyLines(ctx, routeRestoreLines(rec, await live()));
  await step('routes');
  await converge({
    what: `restoring ${rec.name}`,
    timeoutMs: ctx.timeoutMs,
    check: async () => {
      const now = await live();
      if (isReleased(rec, now)) return null;
      const d = releaseDiff(rec, now);
      return (
        `missing ${d.addresses.length} addresses, ${d.routes.length} routes` +
        (d.routes[0] ? ` (first: ${d.routes[0].dst} table ${d.routes[0].table})` : '')
      );
    },
    apply: async () => {
      const a = await applyLines(ctx, linkRestoreLines(rec, await live()));
      const b = await applyLines(ctx, addressRestoreLines(rec, await live()));
      const c = await applyLines(ctx, routeRestoreLines(rec, await live()));
      return [a, b, c].filter((s) => s !== '').join('; ');
    },
  });
  await step('verify');
}

/** Releases from any phase; the state file is removed only once the kernel shows everything. */
export async function runRelease(ctx: OpContext, state: StateRecord): Promise<void> {
  const rec = state.interface;
  if (state.phase !== 'releasing') await ctx.store.write({ ...state, phase: 'releasing' });
  await ctx.afterStep('release', 'record', rec.name);
  if (rec.unbind && rec.pciAddress && rec.kernelDriver) {
    await rebindKernelDriver(ctx, rec);
    await ctx.afterStep('release', 'rebind', rec.name);
  }
  if (!(await readLink(ctx.ip, rec.name))) {
    throw new KernelError(`${rec.name} is not in the kernel: cannot restore its configuration`);
  }
  await restoreKernelConfig(ctx, rec);
  await ctx.store.remove(rec.name);
  await ctx.afterStep('release', 'forget', rec.name);
}
