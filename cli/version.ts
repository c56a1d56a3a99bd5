import { readFileSync } from 'node:fs';

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function main(): Promise<number> {
  process.stdout.write(`netloom ${version()} (node ${process.versions.node})\n`);
  return Promise.resolve(0);
}
