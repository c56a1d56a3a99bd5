// The watchdog's two checks: the agent's /readyz answers 200, and the data plane's host-side
// interface exists, is up and has carrier (a TAP loses it when the data plane dies).
import { errorMessage } from '../lib/errors.ts';
import { readLink } from './kernel.ts';
import type { IpRunner } from './iproute.ts';
import type { Probe } from './watchdog.ts';

export function readyzProbe(url: string): Probe {
  return {
    name: 'agent',
    check: async (signal) => {
      try {
        const res = await fetch(url, { signal, cache: 'no-store' });
        await res.body?.cancel();
        return res.ok ? null : `GET ${url} answered ${res.status}`;
      } catch (err) {
        // fetch() says only "fetch failed"; the cause says why (ECONNREFUSED, timeout).
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        return `GET ${url} failed: ${cause?.code ?? cause?.message ?? errorMessage(err)}`;
      }
    },
  };
}

export function interfaceProbe(ip: IpRunner, name: string): Probe {
  return {
    name: 'data-plane-interface',
    check: async () => {
      const link = await readLink(ip, name);
      if (!link) return `${name} does not exist`;
      if (!link.adminUp) return `${name} is down`;
      if (!link.carrier) return `${name} has no carrier`;
      return null;
    },
  };
}
