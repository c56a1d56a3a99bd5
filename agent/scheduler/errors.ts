// Errors of the KV scheduler and its descriptors.
import { NetloomError, errorMessage } from '../../lib/errors.ts';

/** A desired value that can never be applied (bad CIDR, name too long…). Thrown by `validate`. */
export class ValidationError extends NetloomError {
  readonly key: string;

  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(`${key}: ${message}`, options);
    this.key = key;
  }
}

/** A data-plane operation failed; drivers throw this (or a subclass) with `retriable` set. */
export class DataPlaneError extends NetloomError {}

/** A key no descriptor of the driver claims. */
export class UnknownFamilyError extends NetloomError {}

/** One failed item of a transaction. */
export interface ItemFailure {
  key: string;
  operation: 'create' | 'update' | 'delete' | 'validate' | 'retrieve';
  error: string;
  retriable: boolean;
}

/** Whether a failure is worth retrying, by the `retriable` mark of NetloomError. */
export function markedRetriable(err: unknown): boolean {
  return err instanceof NetloomError ? err.retriable : false;
}

export { errorMessage };
