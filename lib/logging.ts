// pino JSON logs with a `component` binding. Loggers are passed in, never module singletons,
// so tests hand in their own and nothing needs mocking.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stderr by default (stdout is reserved for results in the CNI shim). */
  destination?: DestinationStream | number;
}

export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const dest = options.destination ?? 2;
  const stream = typeof dest === 'number' ? pino.destination({ fd: dest, sync: true }) : dest;
  return pino(
    {
      level: options.level ?? process.env['NETLOOM_LOG_LEVEL'] ?? 'info',
      base: { component, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
  );
}

/** A logger that writes nothing: for tests and for libraries called without one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
