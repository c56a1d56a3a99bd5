import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isExecutable, tailLines } from './files.ts';

const dir = mkdtempSync(join(tmpdir(), 'netloom-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('files', () => {
  it('tells executables from other files and from nothing', () => {
    const x = join(dir, 'x');
    const plain = join(dir, 'plain');
    writeFileSync(x, '#!/bin/sh\n');
    chmodSync(x, 0o755);
    writeFileSync(plain, '');
    chmodSync(plain, 0o644);
    expect(isExecutable(x)).toBe(true);
    // root may read anything, but executes only what has an x bit
    expect(isExecutable(plain)).toBe(false);
    expect(isExecutable(join(dir, 'none'))).toBe(false);
  });

  it('gives the last lines without the trailing newline, or the placeholder', () => {
    const log = join(dir, 'log');
    writeFileSync(log, 'a\nb\nc\nd\n');
    expect(tailLines(log, 2)).toBe('c\nd');
    expect(tailLines(log, 10)).toBe('a\nb\nc\nd');
    expect(tailLines(join(dir, 'none'), 3)).toBe('(no log)');
    expect(tailLines(join(dir, 'none'), 3, '')).toBe('');
  });
});
