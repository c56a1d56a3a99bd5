// Reaching a node's agent API from the operator's shell: the address comes from the --agent-addr
// template ({node}, {ip} = the management IP the agent published in nodes/info), the GET is the
// lab's bounded one (TCP or a unix socket).
import { errorMessage, NetloomError } from '../../lib/errors.ts';
import type { NodeInfo } from '../../agent/view/decode.ts';
import { get } from '../lab/http.ts';

/** The agent did not answer, or answered something else than JSON with 200. */
export class AgentUnreachableError extends NetloomError {}

/** host:port or unix:/path of a node's agent, from the template. */
export function agentAddress(template: string, node: string, info: NodeInfo | undefined): string {
  if (template.includes('{ip}') && !info?.managementIp)
    throw new AgentUnreachableError(
      `node ${node} has no nodes/info record (its agent is not running, or never ran): no address to reach it at; give --agent-addr without {ip}`,
    );
  return template.replaceAll('{node}', node).replaceAll('{ip}', info?.managementIp ?? '');
}

/** GET `path` (with query) from the agent at `addr`; the parsed JSON body. */
export async function agentGet(addr: string, path: string, timeoutMs: number): Promise<unknown> {
  const unix = addr.startsWith('unix:');
  const url = unix ? `http://agent${path}` : `http://${addr}${path}`;
  let res;
  try {
    res = await get(url, { timeoutMs, ...(unix ? { socketPath: addr.slice('unix:'.length) } : {}) });
  } catch (err) {
    throw new AgentUnreachableError(
      `cannot reach the agent at ${addr}: ${errorMessage(err)} (check --agent-addr)`,
      { cause: err },
    );
  }
  if (res.status !== 200) {
    const said = res.body.trim().split('\n')[0] ?? '';
    throw new AgentUnreachableError(
      `${addr} answered HTTP ${res.status} to ${path}${said ? `: ${said}` : ''} (not a netloom agent, or one without this route; check --agent-addr)`,
    );
  }
  try {
    return JSON.parse(res.body) as unknown;
  } catch (err) {
    throw new AgentUnreachableError(`the agent at ${addr} answered ${path} with something not JSON`, {
      cause: err,
    });
  }
}

/** /readyz of the agent: 'ready', 'not ready: …' or 'unreachable: …' (never throws). */
export async function agentReadiness(addr: string, timeoutMs: number): Promise<string> {
  const unix = addr.startsWith('unix:');
  try {
    const res = await get(unix ? 'http://agent/readyz' : `http://${addr}/readyz`, {
      timeoutMs,
      ...(unix ? { socketPath: addr.slice('unix:'.length) } : {}),
    });
    // 503 is the agent's own "not ready" with its reasons; anything else is not an agent.
    if (res.status === 200) return 'ready';
    if (res.status === 503) return `not ready: ${res.body.trim().replace(/\n/g, '; ')}`;
    return `no agent answered at ${addr} (HTTP ${res.status})`;
  } catch (err) {
    return `unreachable: ${errorMessage(err)}`;
  }
}
