// Hand-written byte vectors for codec tests. One field per line reads like the definition:
//
//   hex`0123            # _vl_msg_id
//       "tap0" 00*60    # string name[64]`
//
// Tokens: hex digits (any even count), `XX*N` (byte XX repeated N times), `"text"` (its UTF-8
// bytes, no padding). `#` starts a comment.
export function hex(strings: TemplateStringsArray, ...values: unknown[]): Buffer {
  const text = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const out: number[] = [];
  for (const rawLine of text.split('\n')) {
    const line = stripComment(rawLine);
    for (const token of line.match(/"[^"]*"|\S+/g) ?? []) pushToken(out, token);
  }
  return Buffer.from(out);
}

function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') quoted = !quoted;
    else if (line[i] === '#' && !quoted) return line.slice(0, i);
  }
  return line;
}

function pushToken(out: number[], token: string): void {
  if (token.startsWith('"')) {
    out.push(...Buffer.from(token.slice(1, -1), 'utf8'));
    return;
  }
  const repeat = /^([0-9a-fA-F]{2})\*(\d+)$/.exec(token);
  if (repeat !== null) {
    for (let i = 0; i < Number(repeat[2]); i++) out.push(parseInt(repeat[1]!, 16));
    return;
  }
  if (!/^([0-9a-fA-F]{2})+$/.test(token)) throw new Error(`bad hex token ${JSON.stringify(token)}`);
  for (let i = 0; i < token.length; i += 2) out.push(parseInt(token.slice(i, i + 2), 16));
}
