// A flow as an operator names it (`--from x/a --to 10.1.2.7 --port 80 --protocol TCP`, or the
// same as URL query parameters), checked and turned into the policy engine's Flow. One parser for
// the agent's /api/v1/explain and `netloom ctl explain`, so both accept exactly the same words.
import { isIp } from '../../lib/cidr.ts';
import type { Protocol } from '../items/values.ts';
import type { Flow, FlowEnd } from '../renderers/policy.ts';

export class FlowError extends Error {
  override name = 'FlowError';
}

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** `ns/pod` names a pod, anything that parses as an IP address an address. */
function endOf(what: string, text: string | undefined): FlowEnd {
  if (!text) throw new FlowError(`${what} is missing (a pod as namespace/name, or an IP address)`);
  if (isIp(text)) return { ip: text };
  if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(text)) return { pod: text };
  throw new FlowError(`${what} ${JSON.stringify(text)} is neither namespace/pod nor an IP address`);
}

export function parseFlow(get: (name: string) => string | undefined): Flow {
  const protocol = (get('protocol') ?? 'TCP').toUpperCase() as Protocol;
  if (!PROTOCOLS.includes(protocol))
    throw new FlowError(`protocol ${JSON.stringify(get('protocol'))}: TCP, UDP or SCTP`);
  const port = Number(get('port'));
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new FlowError(`port ${JSON.stringify(get('port') ?? '')}: a number from 1 to 65535`);
  const via = get('viaService') ?? get('via-service');
  return {
    from: endOf('from', get('from')),
    to: endOf('to', get('to')),
    protocol,
    port,
    ...(via === 'true' ? { viaService: true } : {}),
  };
}
