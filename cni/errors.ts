// CNI errors as the spec defines them: a code, a message and details. The shim prints them on
// stdout as `{cniVersion, code, msg, details}` with a non-zero exit; the agent's CNI server
// answers them in CniReply.error. One class on both sides of the socket.
import { NetloomError } from '../lib/errors.ts';

import { CniCode } from './codes.ts';

export { CniCode };

export class CniError extends NetloomError {
  readonly code: number;
  readonly details: string;

  constructor(code: number, msg: string, options?: { details?: string; cause?: unknown }) {
    super(msg, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details ?? '';
  }

  /** Any error as a CNI error: CniErrors keep their code, the rest are internal errors (999). */
  static from(err: unknown): CniError {
    if (err instanceof CniError) return err;
    return new CniError(CniCode.Internal, err instanceof Error ? err.message : String(err), { cause: err });
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
