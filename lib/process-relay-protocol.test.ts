import { describe, expect, it } from 'vitest';
import { MarkScanner, parseStatus, RelayRefusal, relayLine, shellQuote } from './process-relay-protocol.ts';

describe('shell quoting', () => {
  it('single-quotes every word and closes, escapes and reopens a quote inside', () => {
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('plain')).toBe("'plain'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("''")).toBe("''\\'''\\'''");
    expect(shellQuote('$(rm -rf /) `id` $HOME \\ "q" *\n\t')).toBe('\'$(rm -rf /) `id` $HOME \\ "q" *\n\t\'');
  });

  it('refuses a NUL byte', () => {
    expect(() => shellQuote('a\0b')).toThrow(RelayRefusal);
  });
});

describe('relay line', () => {
  it('is the quoted command, stdin from a file or /dev/null, then the two end marks (golden)', () => {
    expect(
      relayLine('nlrelay:ab:1', '/usr/sbin/ip', ['-force', '-batch', '-'], '/dev/shm/netloom-relay-x/in-1'),
    ).toBe(
      "'/usr/sbin/ip' '-force' '-batch' '-' <'/dev/shm/netloom-relay-x/in-1'; " +
        "printf '%s %d\\n' nlrelay:ab:1 \"$?\"; printf '%s\\n' nlrelay:ab:1 >&2\n",
    );
    expect(relayLine('t:2', '/bin/echo', ["a'b", ''], undefined)).toBe(
      "'/bin/echo' 'a'\\''b' '' </dev/null; printf '%s %d\\n' t:2 \"$?\"; printf '%s\\n' t:2 >&2\n",
    );
  });

  it('runs only paths (never a builtin by name) and refuses a token the shell would expand', () => {
    expect(() => relayLine('t:1', 'exec', [], undefined)).toThrow(/by path/);
    expect(() => relayLine('t $x', '/bin/true', [], undefined)).toThrow(/token/);
    expect(() => relayLine('t:1', '/bin/echo', ['a\0'], undefined)).toThrow(/NUL/);
  });
});

describe('end mark scanner', () => {
  const token = 'nlrelay:0123abcd:17';
  const bodies: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['one line', Buffer.from('hello\n')],
    ['no trailing newline', Buffer.from('hello')],
    ['multi-line', Buffer.from('a\n\nb\r\nc')],
    ['binary', Buffer.from([0, 1, 2, 0x0a, 0xff, 0xfe, 0x80, 0x0a, 0x00])],
    ['a token prefix inside', Buffer.from(`x nlrelay:0123abcd:1 nlrelay:0123 ${token.slice(0, -1)}\n`)],
    ['an earlier request token', Buffer.from('nlrelay:0123abcd:16 0\n')],
  ];
  const trailers = ['', ' 0', ' 255'];

  for (const [name, body] of bodies)
    for (const trailer of trailers)
      it(`finds the end of ${name} (trailer ${JSON.stringify(trailer)}) split at every place`, () => {
        const stream = Buffer.concat([body, Buffer.from(`${token}${trailer}\n`)]);
        for (let cut = 0; cut <= stream.length; cut++)
          for (const cut2 of [cut, Math.min(stream.length, cut + 1), Math.min(stream.length, cut + 7)]) {
            const s = new MarkScanner(token);
            const parts = [stream.subarray(0, cut), stream.subarray(cut, cut2), stream.subarray(cut2)];
            const results = parts.map((p) => s.push(p));
            // Undefined until the newline after the token has arrived, then the same answer.
            const done = results.findIndex((r) => r !== undefined);
            expect(done).toBe(lastNonEmpty(parts));
            const got = results[done];
            expect(got?.body.equals(body)).toBe(true);
            expect(got?.trailer).toBe(trailer);
          }
      });

  it('finds the end byte by byte', () => {
    const body = Buffer.from('x'.repeat(100) + token.slice(0, 5));
    const stream = Buffer.concat([body, Buffer.from(`${token} 3\n`)]);
    const s = new MarkScanner(token);
    let got;
    for (let i = 0; i < stream.length; i++) {
      got = s.push(stream.subarray(i, i + 1));
      if (i < stream.length - 1) expect(got).toBeUndefined();
    }
    expect(got?.body.equals(body)).toBe(true);
    expect(got?.trailer).toBe(' 3');
  });

  it('keeps what arrived for a request that never ends (a timeout reports it)', () => {
    const s = new MarkScanner(token);
    expect(s.push(Buffer.from('partial '))).toBeUndefined();
    expect(s.push(Buffer.from('stderr'))).toBeUndefined();
    expect(s.text()).toBe('partial stderr');
  });
});

describe('status trailer', () => {
  it('is a space and a decimal status', () => {
    expect(parseStatus(' 0')).toBe(0);
    expect(parseStatus(' 127')).toBe(127);
    expect(parseStatus('')).toBeUndefined();
    expect(parseStatus(' x')).toBeUndefined();
    expect(parseStatus(' 1 2')).toBeUndefined();
    expect(parseStatus('0')).toBeUndefined();
  });
});

/** The index of the part the last byte came in (where the mark completes). */
function lastNonEmpty(parts: Buffer[]): number {
  return parts.findLastIndex((p) => p.length > 0);
}
