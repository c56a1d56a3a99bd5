// Errors of the Linux driver: what iproute2 and nft print, mapped to a condition the
// descriptors act on (an "exists" on create or a "missing" on delete is often fine) and to the
// scheduler's retriable mark (busy kernels and timeouts are worth retrying; bad values are not).
import type { ToolError } from '../../../lib/iproute.ts';
import { DataPlaneError } from '../../scheduler/errors.ts';

export type Condition =
  /** The object is there already (EEXIST). */
  | 'exists'
  /** The object, its device or its table is not there (ENODEV, ESRCH, ENOENT). */
  | 'missing'
  /** The network namespace path cannot be opened (the pod is gone). */
  | 'netns'
  /** Transient: EBUSY, EAGAIN, ENOBUFS, a timeout. */
  | 'busy'
  /** The kernel or the tool refused the request as malformed or unsupported. */
  | 'invalid'
  | 'other';

const PATTERNS: readonly [RegExp, Condition][] = [
  [/Cannot open network namespace|setns|nsenter: .*(No such file|cannot open)/i, 'netns'],
  [/File exists/i, 'exists'],
  [
    /Cannot find device|No such device|No such process|No such file or directory|Cannot assign requested address|does not exist/i,
    'missing',
  ],
  [
    /Device or resource busy|Resource temporarily unavailable|No buffer space|timed out|Interrupted system call/i,
    'busy',
  ],
  [
    /Unknown device type|Invalid argument|syntax error|not supported|Error: .*(invalid|unknown)|Operation not permitted/i,
    'invalid',
  ],
];

export class LinuxCommandError extends DataPlaneError {
  readonly command: string;
  readonly condition: Condition;

  constructor(message: string, opts: { command: string; condition: Condition; cause?: unknown }) {
    super(message, { cause: opts.cause, retriable: opts.condition === 'busy' });
    this.command = opts.command;
    this.condition = opts.condition;
  }

  /** The condition a tool's error text describes. */
  static classify(text: string): Condition {
    for (const [re, condition] of PATTERNS) if (re.test(text)) return condition;
    return 'other';
  }

  /** An error for `command` from the tool's error text. */
  static parse(command: string, text: string): LinuxCommandError {
    const message = text.trim().split('\n').filter(Boolean).join('; ') || 'failed without a message';
    return new LinuxCommandError(`${command}: ${message}`, {
      command,
      condition: LinuxCommandError.classify(text),
    });
  }

  /** The driver's view of a tool that failed, timed out (busy: worth a retry) or did not start. */
  static fromTool(err: ToolError): LinuxCommandError {
    const condition = err.timedOut ? 'busy' : LinuxCommandError.classify(err.stderr || err.message);
    return new LinuxCommandError(err.message, { command: err.command, condition, cause: err });
  }
}

/** Whether `err` is a LinuxCommandError with one of `conditions`. */
export function isCondition(err: unknown, ...conditions: Condition[]): boolean {
  return err instanceof LinuxCommandError && conditions.includes(err.condition);
}
