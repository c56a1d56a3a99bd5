// Typed failures of the STN daemon. Each class names one condition the gRPC layer maps to a
// status code (server.ts), so a caller can tell "you asked for something wrong, nothing was
// changed" from "the kernel refused, try again".
import { NetloomError } from '../lib/errors.ts';

/** Base of every STN daemon error. */
export class StnError extends NetloomError {}

/** The request itself is wrong (odd interface name, loopback): nothing was changed. */
export class InvalidInterfaceError extends StnError {}

/** The interface does not exist in the daemon's network namespace. */
export class InterfaceNotFoundError extends StnError {}

/** Steal of an interface the daemon holds already. */
export class AlreadyStolenError extends StnError {}

/** Release of an interface the daemon does not hold. */
export class NotStolenError extends StnError {}

/** The request cannot be carried out on this machine (no PCI device, vfio-pci not loaded). */
export class PreconditionError extends StnError {}

/** `ip` failed, or the kernel did not show the expected state in time. */
export class KernelError extends StnError {
  readonly stderr: string;

  constructor(message: string, options?: { cause?: unknown; stderr?: string; retriable?: boolean }) {
    super(message, { retriable: true, ...options });
    this.stderr = options?.stderr ?? '';
  }
}

/** A sysfs read or write for driver rebinding failed. */
export class SysfsError extends StnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { retriable: true, ...options });
  }
}

/** The state file could not be written, read or parsed. */
export class StateFileError extends StnError {}
