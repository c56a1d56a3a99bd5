// The contract between the fake server and its per-family handlers. A handler sees the decoded
// request and the state, and answers with the reply's fields (retval 0 unless given), a list of
// details for a dump, or nothing.
import type { VppFields } from '../api/field-codecs.ts';
import type { FakeVppState } from './state.ts';

export type HandlerResult =
  | { readonly reply: VppFields }
  | {
      readonly details: readonly VppFields[];
      /** Zero bytes after each details message, where VPP sends more than the definition says. */
      readonly padding?: (d: VppFields) => number;
    }
  | { readonly noReply: true };

export interface HandlerContext {
  readonly state: FakeVppState;
  readonly clientIndex: number;
  /** Registers or drops this connection for interface events (want_interface_events). */
  wantInterfaceEvents(enable: boolean, pid: number): void;
  /** Tells every subscribed connection about an interface change. */
  interfaceEvent(swIfIndex: number, deleted: boolean): void;
  /** The get_api_json text, when the server was given one. */
  readonly apiJson: string | undefined;
}

export type Handler = (msg: VppFields, ctx: HandlerContext) => HandlerResult;

export const ok = (fields: VppFields = {}): HandlerResult => ({ reply: { retval: 0, ...fields } });
export const fail = (retval: number, fields: VppFields = {}): HandlerResult => ({
  reply: { ...fields, retval },
});

export const VNET = {
  UNSPECIFIED: -1,
  INVALID_SW_IF_INDEX: -2,
  NO_SUCH_FIB: -3,
  NO_SUCH_ENTRY: -6,
  INVALID_VALUE: -7,
  UNIMPLEMENTED: -9,
  SYSCALL_ERROR_1: -11,
  NO_SUCH_NODE: -63,
  NO_SUCH_NODE2: -64,
  ADDRESS_NOT_FOUND_FOR_INTERFACE: -60,
  UNEXPECTED_INTF_STATE: -74,
  TUNNEL_EXIST: -75,
  INVALID_DECAP_NEXT: -76,
  IF_ALREADY_EXISTS: -79,
  VALUE_EXIST: -81,
  ADDRESS_FOUND_FOR_INTERFACE: -114,
  ADDRESS_IN_USE: -105,
  UNSUPPORTED: -126,
} as const;
