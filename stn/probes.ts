// The watchdog's checks. The ones that judge the data plane: its binary API answers
// control_ping (VPP's own liveness signal: VPP sends socket clients no keepalive), and its
// host-side interface exists, is up and has carrier (a TAP vanishes when VPP dies). The HTTP
// check (a URL answers 200) remains for setups that have nothing else; pointed at the agent's
// /readyz it judges the control plane, which an etcd outage or an agent rollout makes unready.
import { VppCodec } from '../agent/dataplane/vpp/api/codec.ts';
import { ApiDefinitions } from '../agent/dataplane/vpp/api/definitions.ts';
import { BOOTSTRAP_MODULE } from '../agent/dataplane/vpp/api/bootstrap.ts';
import { VppSession } from '../agent/dataplane/vpp/api/session.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logging.ts';
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

export interface VppApiProbe extends Probe {
  close(): void;
}

/**
 * VPP's binary API answers control_ping within the watchdog's check timeout. One session is kept
 * between checks (VPP registers every client: a connect per second would churn its client
 * table); a failed check drops it and the next check connects afresh, so a restarted VPP is
 * seen as soon as it listens. Only the handshake and control_ping are used: their layouts are
 * fixed (bootstrap.ts), so the daemon needs no .api.json files.
 */
export function vppApiProbe(socketPath: string, logger: Logger): VppApiProbe {
  const codec = new VppCodec(new ApiDefinitions().addModule('bootstrap', BOOTSTRAP_MODULE));
  let session: VppSession | undefined;
  const drop = (): void => {
    session?.destroy();
    session = undefined;
  };
  return {
    name: 'data-plane-api',
    check: async (signal) => {
      const timeoutMs = 1_000;
      try {
        if (session === undefined || !session.isOpen) {
          session = undefined;
          session = await VppSession.open({
            path: socketPath,
            clientName: 'netloom-stn',
            codec,
            connectTimeoutMs: timeoutMs,
            logger,
          });
        }
        if (signal.aborted) throw signal.reason;
        await session.request('control_ping', {}, timeoutMs);
        return null;
      } catch (err) {
        drop();
        return `control_ping failed: ${errorMessage(err)}`;
      }
    },
    close: drop,
  };
}
