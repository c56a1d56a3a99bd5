// Liveness of a session: VPP sends socket clients no keepalive, so a silent VPP (hung, or
// stopped under a debugger) is only noticed by asking. A control_ping is sent when nothing has
// been received for an interval; a run of unanswered pings ends the session, which makes the
// client reconnect. Traffic arriving proves liveness by itself, so a busy session never pings.
import type { Logger } from '../../../../lib/logging.ts';
import { VppDisconnectedError } from './errors.ts';
import type { VppSession } from './session.ts';

export interface LivenessOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive unanswered pings that end the session. */
  readonly failures: number;
}

export const DEFAULT_LIVENESS: LivenessOptions = { intervalMs: 1_000, timeoutMs: 1_000, failures: 3 };

/** Starts probing; returns the function that stops it. */
export function startLiveness(
  session: VppSession,
  options: Partial<LivenessOptions>,
  logger: Logger,
): () => void {
  const o = { ...DEFAULT_LIVENESS, ...options };
  let misses = 0;
  let probing = false;
  const timer = setInterval(() => {
    if (probing || !session.isOpen) return;
    if (Date.now() - session.lastReceiveAt < o.intervalMs) {
      misses = 0;
      return;
    }
    probing = true;
    const sentAt = Date.now();
    void session
      .request('control_ping', {}, o.timeoutMs)
      .then(
        () => {
          misses = 0;
        },
        () => {
          if (session.lastReceiveAt > sentAt) {
            misses = 0;
            return;
          }
          misses++;
          if (misses >= o.failures && session.isOpen) {
            logger.warn({ misses }, 'VPP does not answer control_ping; dropping the session');
            session.destroy(new VppDisconnectedError(`liveness: ${misses} control_pings unanswered`));
          }
        },
      )
      .finally(() => {
        probing = false;
      });
  }, o.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
