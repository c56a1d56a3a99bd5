// CNI failures as the agent answers them: the spec's codes (and netloom's own, >= 100), a
// message and details. The server puts them into CniReply.error; the shim prints them.

export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  NotAvailableLimited: 51,
  Internal: 999,
  /** netloom: the data plane refused the pod's items (failed or invalid). */
  DataPlaneFailed: 100,
  /** netloom: ADD of a container ID + interface already attached in another namespace. */
  AlreadyAttached: 101,
} as const;

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
