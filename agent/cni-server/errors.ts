// CNI failures as the agent answers them: the spec's codes (and netloom's own, >= 100), a
// message and details. The server puts them into CniReply.error; the shim prints them.

import { CniCode } from '../../cni/codes.ts';

export { CniCode };

export class CniFailure extends Error {
  readonly code: number;
  readonly details: string;

  constructor(code: number, message: string, opts: { details?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CniFailure';
    this.code = code;
    this.details = opts.details ?? '';
  }

  /** Any error as a CNI failure: CniFailures keep their code, the rest are internal errors. */
  static from(err: unknown): CniFailure {
    if (err instanceof CniFailure) return err;
    return new CniFailure(CniCode.Internal, err instanceof Error ? err.message : String(err), { cause: err });
  }
}
