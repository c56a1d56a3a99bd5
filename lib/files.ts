// Small file questions several processes ask: can this be executed, and what are a log's last
// lines (for error messages).
import { accessSync, constants, readFileSync } from 'node:fs';

/** Whether `path` exists and this process may execute it. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The last `lines` lines of a text file, or `missing` when it cannot be read. */
export function tailLines(file: string, lines: number, missing = '(no log)'): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return missing;
  }
}
