// Debian packages into a directory, without Docker or a chroot: the dependency closure read from
// `apt-cache show`, the .debs fetched by `apt-get download` (the only network used: the machine's
// configured Debian mirror) into a cache, then unpacked with `dpkg-deb -x`. Maintainer scripts
// never run — what an image needs from these packages is their files (binaries, libraries,
// /etc/iproute2, /etc/protocols), not their configuration steps.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NetloomError } from '../lib/errors.ts';

const execFileP = promisify(execFile);

export class ImageError extends NetloomError {}

export interface DebPackage {
  name: string;
  version: string;
  arch: string;
}

/**
 * Never pulled in as a dependency: debconf (and perl-base behind it) only serve maintainer
 * scripts, which an unpacked image never runs.
 */
const NOT_NEEDED = new Set(['debconf', 'perl-base', 'debconf-2.0']);

async function tool(command: string, args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await execFileP(command, args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 600_000,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new ImageError(`${command} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`, {
      cause: err,
    });
  }
}

interface Stanza {
  pkg: DebPackage;
  /** Alternatives per dependency, names only (versions and `:any` dropped). */
  depends: string[][];
}

function parseDepends(field: string | undefined): string[][] {
  if (!field) return [];
  return field.split(',').map((group) =>
    group
      .split('|')
      .map((alt) =>
        alt
          .trim()
          .replace(/\s*\(.*\)$/, '')
          .replace(/:\w+$/, ''),
      )
      .filter((a) => a !== ''),
  );
}

/**
 * The candidate stanza of each name that is a real package, in one `apt-cache show` (each call
 * reads the whole package cache: seconds). Virtual or unknown names are simply absent: apt-cache
 * reports them on stderr and exits 100 but still prints the others.
 */
async function show(names: string[]): Promise<Map<string, Stanza>> {
  let text: string;
  try {
    ({ stdout: text } = await execFileP('apt-cache', ['show', '--no-all-versions', ...names], {
      maxBuffer: 64 * 1024 * 1024,
    }));
  } catch (err) {
    text = (err as { stdout?: string }).stdout ?? '';
  }
  const out = new Map<string, Stanza>();
  for (const block of text.split(/\n\n+/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const m = /^([A-Za-z-]+):\s?(.*)$/.exec(line);
      if (m) fields.set(m[1]!, m[2]!);
    }
    const name = fields.get('Package');
    const version = fields.get('Version');
    const arch = fields.get('Architecture');
    if (!name || !version || !arch || out.has(name)) continue;
    out.set(name, {
      pkg: { name, version, arch },
      depends: [...parseDepends(fields.get('Pre-Depends')), ...parseDepends(fields.get('Depends'))],
    });
  }
  return out;
}

/** One package alone (no dependencies): its candidate version. */
export async function candidate(name: string): Promise<DebPackage> {
  const s = (await show([name])).get(name);
  if (!s) throw new ImageError(`no installable package ${name} (apt-get update?)`);
  return s.pkg;
}

/**
 * The packages `roots` need, roots included: for each dependency the first alternative that is
 * a real package (a virtual one, like `debconf-2.0`, is passed over for the next). One
 * `apt-cache show` per level of the dependency tree.
 */
export async function closure(roots: string[]): Promise<DebPackage[]> {
  const found = new Map<string, Stanza>();
  let wanted: string[][] = roots.map((r) => [r]);
  while (wanted.length > 0) {
    const open = wanted.filter((alts) => !alts.some((a) => found.has(a) || NOT_NEEDED.has(a)));
    if (open.length === 0) break;
    const stanzas = await show([...new Set(open.flat())]);
    const next: string[][] = [];
    for (const alts of open) {
      if (alts.some((a) => found.has(a))) continue;
      const pick = alts.map((a) => stanzas.get(a)).find((s) => s !== undefined);
      if (!pick) throw new ImageError(`no installable package among ${alts.join(' | ')} (apt-get update?)`);
      found.set(pick.pkg.name, pick);
      next.push(...pick.depends);
    }
    wanted = next;
  }
  return [...found.values()].map((s) => s.pkg).sort((a, b) => a.name.localeCompare(b.name));
}

/** apt-get download's file name for a package (an epoch's colon is written %3a). */
export function debFileName(p: DebPackage): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.arch}.deb`;
}

/** Downloads what the cache lacks; returns every package's .deb path. */
export async function download(pkgs: DebPackage[], cacheDir: string): Promise<string[]> {
  mkdirSync(cacheDir, { recursive: true });
  const missing = pkgs.filter((p) => !existsSync(join(cacheDir, debFileName(p))));
  if (missing.length > 0) {
    await tool('apt-get', ['download', '-q', ...missing.map((p) => `${p.name}=${p.version}`)], cacheDir);
  }
  const paths = pkgs.map((p) => join(cacheDir, debFileName(p)));
  const absent = paths.filter((p) => !existsSync(p));
  if (absent.length > 0) throw new ImageError(`apt-get download left out ${absent.join(', ')}`);
  return paths;
}

/** Unpacks .debs into `dir` (created), as dpkg would place their files. */
export async function unpack(debs: string[], dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const deb of debs) await tool('dpkg-deb', ['-x', deb, dir]);
}

/**
 * A library search cache for the unpacked tree: without it the loader finds only what its
 * built-in paths hold. Debian's libc6 ships /etc/ld.so.conf.d/; the top file is libc-bin's, not
 * unpacked here.
 */
export async function ldconfig(dir: string): Promise<void> {
  writeFileSync(join(dir, 'etc', 'ld.so.conf'), 'include /etc/ld.so.conf.d/*.conf\n');
  await tool('ldconfig', ['-r', dir]);
}

/** Documentation, manuals and translations: nothing in an image reads them. */
export function dropDocs(dir: string): void {
  for (const sub of [
    'usr/share/doc',
    'usr/share/man',
    'usr/share/info',
    'usr/share/locale',
    'usr/share/lintian',
  ]) {
    rmSync(join(dir, sub), { recursive: true, force: true });
  }
}
