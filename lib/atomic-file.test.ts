import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempPathFor, writeFileAtomic, writeFileAtomicSync } from './atomic-file.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'netloom-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const variants = [
  ['writeFileAtomic', writeFileAtomic],
  [
    'writeFileAtomicSync',
    (p: string, d: string | Uint8Array, o?: { mode?: number }) => writeFileAtomicSync(p, d, o),
  ],
] as const;

describe.each(variants)('%s', (_name, write) => {
  it('creates a file, then replaces its content, leaving no temp file behind', async () => {
    const f = join(dir, 'state.json');
    await write(f, 'first\n');
    expect(readFileSync(f, 'utf8')).toBe('first\n');
    writeFileSync(join(dir, 'other'), 'x');
    await write(f, 'second, longer than the first\n');
    expect(readFileSync(f, 'utf8')).toBe('second, longer than the first\n');
    expect(readdirSync(dir).sort()).toEqual(['other', 'state.json']);
  });

  it('writes bytes as given', async () => {
    const f = join(dir, 'blob');
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => i % 251);
    await write(f, bytes);
    expect(new Uint8Array(readFileSync(f))).toEqual(bytes);
  });

  it('sets the mode exactly, whatever the umask', async () => {
    const f = join(dir, 'secret');
    const old = process.umask(0o077);
    try {
      await write(f, 's', { mode: 0o755 });
    } finally {
      process.umask(old);
    }
    expect(statSync(f).mode & 0o777).toBe(0o755);
    await write(f, 't', { mode: 0o600 });
    expect(statSync(f).mode & 0o777).toBe(0o600);
  });

  it('fails when the directory is missing, creating nothing', async () => {
    const f = join(dir, 'missing', 'x.json');
    await expect(async () => write(f, 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails when the rename cannot replace the target, removing the temp file and keeping the target', async () => {
    const f = join(dir, 'taken');
    mkdirSync(f);
    writeFileSync(join(f, 'inside'), 'kept');
    await expect(async () => write(f, 'x')).rejects.toMatchObject({
      code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/),
    });
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(readFileSync(join(f, 'inside'), 'utf8')).toBe('kept');
  });
});

describe('writeFileAtomic', () => {
  it('lets concurrent writers of one file finish with one whole content and no temp files', async () => {
    const f = join(dir, 'busy.json');
    const contents = Array.from({ length: 20 }, (_, i) => `writer ${i} `.repeat(1_000));
    await Promise.all(contents.map((c) => writeFileAtomic(f, c)));
    expect(contents).toContain(readFileSync(f, 'utf8'));
    expect(readdirSync(dir)).toEqual(['busy.json']);
  });
});

describe('tempPathFor', () => {
  it('names a hidden .tmp file in the same directory, different on every call', () => {
    const a = tempPathFor('/var/lib/netloom/state.json');
    const b = tempPathFor('/var/lib/netloom/state.json');
    expect(a).toMatch(/^\/var\/lib\/netloom\/\.state\.json\.\d+\.[0-9a-f]{8}\.tmp$/);
    expect(a).not.toBe(b);
  });
});
