// The network configuration from stdin (pure): JSON that does not parse is code 6, a
// configuration that parses but is wrong is code 7, and each message names the field.
import { CniCode, CniError } from './errors.ts';

export interface Attachment {
  containerId: string;
  ifname: string;
}

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** The agent's CNI socket; each node agent of a lab has its own. */
  agentSocket: string;
  /** Bound on the whole call; the shim never waits longer. */
  timeoutSeconds: number;
  logFile: string;
  prevResult?: unknown;
  /** GC only: the attachments still in use. */
  validAttachments?: Attachment[];
  /** The config exactly as received, forwarded to the agent. */
  raw: string;
}

export const DEFAULT_AGENT_SOCKET = '/run/netloom/cni.sock';
const MAX_TIMEOUT_SECONDS = 300;

function bad(field: string, msg: string): CniError {
  return new CniError(CniCode.InvalidConfig, `network config: ${field}: ${msg}`);
}

function str(obj: Record<string, unknown>, field: string, required: boolean, fallback = ''): string {
  const v = obj[field];
  if (v === undefined || v === null) {
    if (required) throw bad(field, 'is required');
    return fallback;
  }
  if (typeof v !== 'string') throw bad(field, `must be a string, not ${typeof v}`);
  return v;
}

function attachments(obj: Record<string, unknown>): Attachment[] | undefined {
  // libcni sends both spellings: the v1.1.0 tag said cni.dev/attachments.
  const field = 'cni.dev/valid-attachments' in obj ? 'cni.dev/valid-attachments' : 'cni.dev/attachments';
  const v = obj[field];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw bad(field, 'must be a list');
  return v.map((a: unknown, i) => {
    if (typeof a !== 'object' || a === null) throw bad(`${field}[${i}]`, 'must be an object');
    const rec = a as Record<string, unknown>;
    const containerId = rec['containerID'];
    const ifname = rec['ifname'];
    if (typeof containerId !== 'string' || typeof ifname !== 'string') {
      throw bad(`${field}[${i}]`, 'needs string containerID and ifname');
    }
    return { containerId, ifname };
  });
}

export function parseNetConf(stdin: string, options: { requireName: boolean }): NetConf {
  let data: unknown;
  try {
    data = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(CniCode.DecodeFailure, `network config is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new CniError(CniCode.DecodeFailure, 'network config must be a JSON object');
  }
  const obj = data as Record<string, unknown>;
  const timeout = obj['timeoutSeconds'] ?? 60;
  if (typeof timeout !== 'number' || !(timeout > 0 && timeout <= MAX_TIMEOUT_SECONDS)) {
    throw bad('timeoutSeconds', `must be a number in (0, ${MAX_TIMEOUT_SECONDS}]`);
  }
  const agentSocket = str(obj, 'agentSocket', false, DEFAULT_AGENT_SOCKET);
  if (!agentSocket.startsWith('/')) throw bad('agentSocket', 'must be an absolute path');
  const conf: NetConf = {
    cniVersion: str(obj, 'cniVersion', true),
    name: str(obj, 'name', options.requireName),
    type: str(obj, 'type', options.requireName),
    agentSocket,
    timeoutSeconds: timeout,
    logFile: str(obj, 'logFile', false),
    raw: stdin,
  };
  if (obj['prevResult'] !== undefined) {
    if (typeof obj['prevResult'] !== 'object' || obj['prevResult'] === null)
      throw bad('prevResult', 'must be an object');
    conf.prevResult = obj['prevResult'];
  }
  const valid = attachments(obj);
  if (valid) conf.validAttachments = valid;
  return conf;
}

/** The cniVersion of a config that failed to parse completely, for the error's own cniVersion. */
export function sniffVersion(stdin: string): string | undefined {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
