// CNI errors as the spec defines them: a code, a message and details, printed on stdout as
// `{cniVersion, code, msg, details}` with a non-zero exit.
import { NetloomError } from '../lib/errors.ts';

/** The spec's codes (1-11, 50/51), libcni's additions (8, 999), and netloom's (>= 100). */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  InvalidNetns: 8,
  TryAgainLater: 11,
  NotAvailable: 50,
  NotAvailableLimited: 51,
  Internal: 999,
} as const;
export type CniCode = (typeof CniCode)[keyof typeof CniCode];

export class CniError extends NetloomError {
  readonly code: number;
  readonly details: string;

  constructor(code: number, msg: string, options?: { details?: string; cause?: unknown }) {
    super(msg, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details ?? '';
  }

  /** The spec's error object. */
  toResult(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    return { cniVersion, code: this.code, msg: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}
