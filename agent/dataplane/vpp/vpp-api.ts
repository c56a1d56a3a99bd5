// What the driver needs from the API client: requests and dumps (VppClient satisfies it).
// The "vppcalls" in calls/ build messages and parse replies over this; descriptors see only
// the calls they use.
import type { VppFields } from './api/field-codecs.ts';
import { VppApiError } from './api/errors.ts';

export interface VppApi {
  request(name: string, fields?: VppFields): Promise<VppFields>;
  dump(name: string, fields?: VppFields): Promise<VppFields[]>;
  /** Whether the VPP connected now has this message at the CRC the client knows. */
  supports?(name: string): boolean;
}

/** Retvals meaning "already gone" on a delete: treated as success (deletes are idempotent). */
export const GONE = [-2, -6, -60] as const;

/** Runs `op`, treating a VppApiError with one of `retvals` as success. */
export async function tolerate<T>(op: Promise<T>, retvals: readonly number[]): Promise<T | undefined> {
  try {
    return await op;
  } catch (err) {
    if (err instanceof VppApiError && retvals.includes(err.retval)) return undefined;
    throw err;
  }
}

export const ALL = 0xffffffff;
