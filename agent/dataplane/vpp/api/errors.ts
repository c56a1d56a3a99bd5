// Typed errors of the VPP binary-API client. The KV scheduler reads `retriable`; everything else
// reads the class. Codec errors carry the field path and byte offset so a bad vector or a
// mismatched definition can be found without a debugger.
import { NetloomError } from '../../../../lib/errors.ts';
import { retvalName } from './retval.ts';

/** The .api.json definitions are malformed or reference something that does not exist. */
export class VppDefinitionError extends NetloomError {}

/** A value cannot be encoded by its field's definition (range, length, unknown field). */
export class VppEncodeError extends NetloomError {
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }

  /** The same error seen from the enclosing struct. */
  within(prefix: string): VppEncodeError {
    return new VppEncodeError(this.path === '' ? prefix : `${prefix}.${this.path}`, this.reason);
  }
}

/** Bytes do not decode by the definition: truncated, oversized or inconsistent input. */
export class VppDecodeError extends NetloomError {
  readonly path: string;
  readonly offset: number;
  readonly reason: string;

  constructor(path: string, offset: number, reason: string) {
    super(`${path} at byte ${offset}: ${reason}`);
    this.path = path;
    this.offset = offset;
    this.reason = reason;
  }

  within(prefix: string): VppDecodeError {
    return new VppDecodeError(this.path === '' ? prefix : `${prefix}.${this.path}`, this.offset, this.reason);
  }
}

/** The stream violates the socket protocol (bad frame, unexpected handshake reply). */
export class VppProtocolError extends NetloomError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { retriable: true, ...options });
  }
}

/**
 * The running VPP lacks this message at this CRC: its definitions differ from ours, or its
 * plugin is not loaded. Refused before anything is sent; not retriable.
 */
export class VppUnsupportedMessageError extends NetloomError {
  readonly messageName: string;
  readonly nameCrc: string;
  readonly serverNameCrcs: readonly string[];

  constructor(name: string, nameCrc: string, serverNameCrcs: readonly string[]) {
    const why =
      serverNameCrcs.length > 0
        ? `VPP has ${serverNameCrcs.join(', ')}: CRC mismatch, the definitions differ from the running VPP`
        : 'VPP does not know this message (plugin not loaded or message removed)';
    super(`message ${nameCrc} refused: ${why}`);
    this.messageName = name;
    this.nameCrc = nameCrc;
    this.serverNameCrcs = serverNameCrcs;
  }
}

/** VPP answered with a negative retval. */
export class VppApiError extends NetloomError {
  readonly retval: number;
  readonly request: string;

  constructor(request: string, retval: number) {
    // A few errors are transient by nature (EAGAIN, busy); the rest describe bad input or state.
    super(`${request} failed: retval ${retval} (${retvalName(retval)})`, { retriable: retval === -165 });
    this.retval = retval;
    this.request = request;
  }
}

/** No reply within the request's timeout. The request may or may not have taken effect. */
export class VppTimeoutError extends NetloomError {
  constructor(request: string, timeoutMs: number) {
    super(`${request}: no reply within ${timeoutMs} ms`, { retriable: true });
  }
}

/** The connection is down (or went down while the request was in flight). */
export class VppDisconnectedError extends NetloomError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { retriable: true, ...options });
  }
}

/** The caller used the API wrongly (request() on a dump, a message without a reply). */
export class VppUsageError extends NetloomError {}
