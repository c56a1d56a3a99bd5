// The text a process relay (lib/process-relay.ts) writes to its long-lived `/bin/sh`, and the
// reading of what comes back, kept apart from the I/O so both can be tested byte by byte.
//
// One request is one line of shell: the command and its arguments, each single-quoted (nothing
// is expanded, substituted or split: a quote inside is closed, escaped and reopened), stdin from
// a file or /dev/null (never the relay's own stdin, which carries the requests), then two
// builtins that mark the end: `printf` of the request's token and the exit status on stdout, and
// of the token alone on stderr. The command is given by path (a name with a slash is never a
// shell builtin or function), so `exec`, `exit` or `cd` cannot reach the relay itself.
//
// The token is unique per request (a relay's random prefix and a sequence number): the output
// before it is the command's, byte for byte, with or without a trailing newline.

/** A request a relay cannot carry: a NUL byte cannot be passed in an argument. */
export class RelayRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelayRefusal';
  }
}

/** `text` as one single-quoted shell word; a NUL byte is refused (no argv can hold it). */
export function shellQuote(text: string): string {
  if (text.includes('\0'))
    throw new RelayRefusal(`refused an argument with a NUL byte: ${JSON.stringify(text)}`);
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The line that runs `path args` with stdin from `stdinPath` (or /dev/null), then marks its end. */
export function relayLine(
  token: string,
  path: string,
  args: readonly string[],
  stdinPath: string | undefined,
): string {
  if (!/^[A-Za-z0-9:._-]+$/.test(token)) throw new RelayRefusal(`bad relay token ${JSON.stringify(token)}`);
  if (!path.includes('/'))
    throw new RelayRefusal(`the relay runs commands by path, got ${JSON.stringify(path)}`);
  const words = [path, ...args].map(shellQuote).join(' ');
  const input = stdinPath === undefined ? '/dev/null' : shellQuote(stdinPath);
  return `${words} <${input}; printf '%s %d\\n' ${token} "$?"; printf '%s\\n' ${token} >&2\n`;
}

/** What a stream carried up to its end mark, and the text between the token and its newline. */
export interface Marked {
  body: Buffer;
  trailer: string;
}

/**
 * Collects one stream of one request until `token … \n` arrives, in chunks split anywhere. Each
 * chunk is searched once, with the few bytes before it a token could straddle, so a large
 * output costs one pass; the chunks are joined once, when the mark is found.
 */
export class MarkScanner {
  private readonly token: Buffer;
  private chunks: Buffer[] = [];
  private length = 0;
  /** The last bytes before the newest chunk (fewer than the token's length). */
  private tail = Buffer.alloc(0);
  /** Where the token starts, once found. */
  private at = -1;

  constructor(token: string) {
    this.token = Buffer.from(token);
  }

  /** Everything collected so far, as text (a timed-out request's stderr). */
  text(): string {
    return Buffer.concat(this.chunks, this.length).toString();
  }

  /** Adds a chunk; returns the body and trailer once the mark and its newline are complete. */
  push(chunk: Buffer): Marked | undefined {
    const before = this.length;
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.at < 0) {
      const window = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
      const p = window.indexOf(this.token);
      if (p < 0) {
        const keep = Math.min(window.length, this.token.length - 1);
        this.tail = Buffer.from(window.subarray(window.length - keep));
        return undefined;
      }
      this.at = before - this.tail.length + p;
      this.chunks = [Buffer.concat(this.chunks, this.length)];
    } else if (this.chunks.length > 1) {
      this.chunks = [Buffer.concat(this.chunks, this.length)];
    }
    const all = this.chunks[0] as Buffer;
    const nl = all.indexOf(0x0a, this.at + this.token.length);
    if (nl < 0) return undefined;
    return {
      body: all.subarray(0, this.at),
      trailer: all.subarray(this.at + this.token.length, nl).toString(),
    };
  }
}

/** The exit status in a stdout trailer (` <code>`), or undefined when it is not one. */
export function parseStatus(trailer: string): number | undefined {
  const m = /^ (\d{1,3})$/.exec(trailer);
  return m ? Number(m[1]) : undefined;
}
