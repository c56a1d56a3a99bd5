// CNI errors as the spec defines them: a code, a message and details, printed on stdout as
// `{cniVersion, code, msg, details}` with a non-zero exit.
import { NetloomError } from '../lib/errors.ts';

export { CniCode } from './codes.ts';

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
    return {
      cniVersion,
      code: this.code,
      msg: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}
