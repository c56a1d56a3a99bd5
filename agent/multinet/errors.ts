// What a delegated attachment can fail with. Every class is a CniError (cni/errors.ts), so the
// CNI server answers the runtime with the spec's code without translating: a plugin's own code
// and message pass through unchanged, and netloom's own conditions carry the spec's nearest code.
import { CniCode, CniError } from '../../cni/errors.ts';

/** The base of every delegation failure; `network` is the NAD as `namespace/name`. */
export class DelegateError extends CniError {
  readonly network: string;
  override readonly retriable: boolean;

  constructor(
    code: number,
    message: string,
    opts: { network: string; details?: string; cause?: unknown; retriable?: boolean },
  ) {
    super(code, message, {
      ...(opts.details !== undefined ? { details: opts.details } : {}),
      cause: opts.cause,
    });
    this.network = opts.network;
    this.retriable = opts.retriable ?? false;
  }
}

/** The NAD's `spec.config` is not a CNI configuration netloom can run (7). `field` names the part. */
export class DelegateConfigError extends DelegateError {
  readonly field: string;

  constructor(network: string, field: string, message: string, opts?: { cause?: unknown }) {
    super(CniCode.InvalidConfig, `network ${network}: config ${field}: ${message}`, {
      network,
      cause: opts?.cause,
    });
    this.field = field;
  }
}

/** The request itself is unusable (container ID, interface, netns, plugin dirs, prevResult) (4). */
export class DelegateRequestError extends DelegateError {
  readonly field: string;

  constructor(network: string, field: string, message: string) {
    super(CniCode.InvalidEnvironment, `network ${network}: ${field}: ${message}`, { network });
    this.field = field;
  }
}

/** The config names a plugin `type` that no plugin directory holds as an executable file (7). */
export class PluginNotFoundError extends DelegateError {
  readonly plugin: string;
  readonly binDirs: readonly string[];

  constructor(network: string, plugin: string, binDirs: readonly string[]) {
    super(CniCode.InvalidConfig, `network ${network}: no CNI plugin "${plugin}" in ${binDirs.join(':')}`, {
      network,
    });
    this.plugin = plugin;
    this.binDirs = binDirs;
  }
}

/** What the invocation was, carried by the errors that come out of running a plugin. */
export interface Invocation {
  network: string;
  plugin: string;
  command: string;
}

/**
 * The plugin ran and failed: its own CNI error when it printed one (its code, msg and details),
 * else code 999 with its exit status and stderr. Code 11 (try again later) is retriable.
 */
export class PluginError extends DelegateError {
  readonly plugin: string;
  /** ADD, DEL or CHECK. */
  readonly command: string;
  /** The plugin's `msg`, without netloom's prefix. */
  readonly pluginMessage: string;
  readonly exitCode: number;
  readonly stderr: string;

  constructor(
    inv: Invocation,
    code: number,
    pluginMessage: string,
    opts: { details?: string; exitCode: number; stderr: string; cause?: unknown },
  ) {
    super(code, `network ${inv.network}: ${inv.plugin} ${inv.command}: ${pluginMessage}`, {
      network: inv.network,
      ...(opts.details !== undefined ? { details: opts.details } : {}),
      cause: opts.cause,
      retriable: code === CniCode.TryAgainLater,
    });
    this.plugin = inv.plugin;
    this.command = inv.command;
    this.pluginMessage = pluginMessage;
    this.exitCode = opts.exitCode;
    this.stderr = opts.stderr;
  }

  /**
   * The error for a plugin that exited non-zero (or printed an error object with exit 0): its
   * stdout read as the spec's `{code, msg, details}`; anything else becomes 999 with the exit
   * status and the last of stderr, which is where older plugins and Go panics write.
   */
  static parse(inv: Invocation, out: { stdout: string; stderr: string; exitCode: number }): PluginError {
    const parsed = cniErrorOf(out.stdout);
    const common = { exitCode: out.exitCode, stderr: out.stderr };
    if (parsed !== undefined)
      return new PluginError(inv, parsed.code, parsed.msg, {
        ...common,
        ...(parsed.details !== undefined ? { details: parsed.details } : {}),
      });
    const said = lastLines(out.stderr) || lastLines(out.stdout) || 'no output';
    return new PluginError(inv, CniCode.Internal, `exited ${out.exitCode}: ${said}`, common);
  }
}

/** `{code, msg, details?}` when `stdout` is a CNI error object, else undefined. */
export function cniErrorOf(stdout: string): { code: number; msg: string; details?: string } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o['code'] !== 'number' || !Number.isInteger(o['code'])) return undefined;
  const msg = typeof o['msg'] === 'string' && o['msg'] !== '' ? o['msg'] : `error code ${o['code']}`;
  return {
    code: o['code'],
    msg,
    ...(typeof o['details'] === 'string' && o['details'] !== '' ? { details: o['details'] } : {}),
  };
}

function lastLines(text: string): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines.slice(-3).join('; ').slice(0, 500);
}

/** The plugin outlived its bound and was killed with its process group (11, retriable). */
export class PluginTimeoutError extends DelegateError {
  readonly plugin: string;
  readonly command: string;
  readonly timeoutMs: number;
  readonly stderr: string;

  constructor(inv: Invocation, timeoutMs: number, stderr: string, cause?: unknown) {
    super(
      CniCode.TryAgainLater,
      `network ${inv.network}: ${inv.plugin} ${inv.command} did not finish within ${timeoutMs} ms (killed)`,
      { network: inv.network, cause, retriable: true },
    );
    this.plugin = inv.plugin;
    this.command = inv.command;
    this.timeoutMs = timeoutMs;
    this.stderr = stderr;
  }
}

/** The plugin succeeded but printed something that is not a CNI result (6). */
export class PluginOutputError extends DelegateError {
  readonly plugin: string;
  readonly stdout: string;

  constructor(inv: Invocation, message: string, stdout: string, cause?: unknown) {
    super(CniCode.DecodeFailure, `network ${inv.network}: ${inv.plugin} ${inv.command}: ${message}`, {
      network: inv.network,
      cause,
    });
    this.plugin = inv.plugin;
    this.stdout = stdout;
  }
}

/**
 * ADD succeeded but the attachment is not what the pod asked for (a requested IP or MAC not
 * there), so it was deleted again (2: the spec's "unsupported field", naming it). `rolledBack`
 * says whether that DEL succeeded; when it did not, `cause` is its error.
 */
export class NotHonouredError extends DelegateError {
  readonly field: 'ips' | 'mac';
  readonly requested: readonly string[];
  readonly got: readonly string[];
  readonly rolledBack: boolean;

  constructor(
    network: string,
    what: { field: 'ips' | 'mac'; requested: readonly string[]; got: readonly string[] },
    rollback: { ok: true } | { ok: false; error: DelegateError },
  ) {
    const tail = rollback.ok
      ? 'attachment deleted again'
      : `and deleting it again failed: ${rollback.error.message}`;
    super(
      CniCode.UnsupportedField,
      `network ${network}: the plugin did not honour ${what.field} ${what.requested.join(', ')} (got ${what.got.join(', ') || 'none'}); ${tail}`,
      { network, ...(rollback.ok ? {} : { cause: rollback.error }) },
    );
    this.field = what.field;
    this.requested = what.requested;
    this.got = what.got;
    this.rolledBack = rollback.ok;
  }
}

/** DEL ran every plugin and some failed: each failure is in `errors`; the first one's code. */
export class DelegateDelError extends DelegateError {
  readonly errors: readonly DelegateError[];

  constructor(network: string, errors: readonly DelegateError[]) {
    const first = errors[0]!;
    super(first.code, `network ${network}: DEL failed: ${errors.map((e) => e.message).join('; ')}`, {
      network,
      cause: first,
      retriable: errors.some((e) => e.retriable),
    });
    this.errors = errors;
  }
}

/** Any error as a DelegateError: ours pass through, anything else is a 999 naming the network. */
export function delegateErrorOf(network: string, err: unknown): DelegateError {
  if (err instanceof DelegateError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DelegateError(CniCode.Internal, `network ${network}: ${message}`, { network, cause: err });
}

/**
 * ADD failed and deleting what it had added failed as well: the ADD's error (its code) with the
 * DEL's beside it. The runtime's DEL after a failed ADD gets another chance to clean up.
 */
export class RollbackFailedError extends DelegateError {
  readonly addError: DelegateError;
  readonly rollbackError: DelegateError;

  constructor(network: string, addError: DelegateError, rollbackError: DelegateError) {
    super(addError.code, `${addError.message}; deleting what was added failed: ${rollbackError.message}`, {
      network,
      ...(addError.details ? { details: addError.details } : {}),
      cause: addError,
    });
    this.addError = addError;
    this.rollbackError = rollbackError;
  }
}
