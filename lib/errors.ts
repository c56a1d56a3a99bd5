// The base of every netloom error: a stable `name`, an optional `cause`, and a `retriable`
// mark the KV scheduler and the store's retry loops read instead of guessing from messages.
export class NetloomError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options?.retriable ?? false;
  }
}

/** Bad configuration: names the offending field; daemons exit with code 2 on it. */
export class ConfigError extends NetloomError {
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(field ? `${field}: ${message}` : message, options);
    this.field = field;
  }
}

/** A key that does not belong to the keyspace or does not parse. */
export class KeyspaceError extends NetloomError {}

/** etcd could not be reached or refused an operation; retriable unless stated otherwise. */
export class StoreError extends NetloomError {
  constructor(message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, { retriable: true, ...options });
  }
}

/** A create-only transaction lost: the key exists already. */
export class ConflictError extends NetloomError {}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
