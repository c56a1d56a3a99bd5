// Configuration for every process: defaults from a zod schema, then one YAML or JSON file
// (`--config` or NETLOOM_CONFIG), then environment (NETLOOM_<FIELD>), then flags
// (`--field-name value` or `--field-name=value`), later sources winning. Validation names the
// bad field in one line; the caller exits with code 2 on a ConfigError.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, errorMessage } from './errors.ts';

/** A list given as an array (file) or a comma-separated string (env, flags). */
export function list<T extends z.ZodType>(item: T): z.ZodType<z.output<T>[]> {
  return z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : v,
    z.array(item),
  );
}

/** A number given as a number (file) or a decimal string (env, flags). */
export function num(): z.ZodType<number> {
  return z.preprocess(
    (v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v),
    z.number(),
  );
}

/** A boolean given as a boolean or as true/false/1/0 (a bare flag means true). */
export function bool(): z.ZodType<boolean> {
  return z.preprocess((v) => {
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    return v;
  }, z.boolean());
}

export interface ConfigSources {
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Prefix of environment variables, NETLOOM_ by default. */
  envPrefix?: string;
}

export interface Loaded<T> {
  config: T;
  /** Positional arguments left over after the flags. */
  positionals: string[];
  /** The file that was read, if any. */
  file?: string;
}

const camel = (kebab: string): string => kebab.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const envName = (key: string, prefix: string): string =>
  prefix + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

function splitArgv(argv: readonly string[]): { flags: Map<string, string>; positionals: string[] } {
  const flags = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      flags.set(arg.slice(2), next);
      i++;
    } else {
      flags.set(arg.slice(2), 'true');
    }
  }
  return { flags, positionals };
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('config', `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      'config',
      `${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${errorMessage(err)}`,
      {
        cause: err,
      },
    );
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError('config', `${path} must hold a mapping of settings`);
  }
  return data as Record<string, unknown>;
}

function describe(issue: z.core.$ZodIssue): ConfigError {
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = [field, issue.keys[0]].filter((s) => s !== '').join('.');
    return new ConfigError(key, 'unknown setting');
  }
  return new ConfigError(field || 'config', issue.message);
}

/**
 * Loads and validates a configuration. Unknown flags and unknown file keys are errors:
 * a typo must not silently fall back to a default.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  sources: ConfigSources = {},
): Loaded<z.infer<S>> {
  const env = sources.env ?? process.env;
  const prefix = sources.envPrefix ?? 'NETLOOM_';
  const { flags, positionals } = splitArgv(sources.argv ?? []);
  const keys = Object.keys(schema.shape);

  const file = flags.get('config') ?? env[`${prefix}CONFIG`];
  flags.delete('config');
  const merged: Record<string, unknown> = file ? readFile(file) : {};

  for (const key of keys) {
    const value = env[envName(key, prefix)];
    if (value !== undefined) merged[key] = value;
  }
  for (const [flag, value] of flags) {
    const key = camel(flag);
    if (!keys.includes(key)) throw new ConfigError(`--${flag}`, 'unknown flag');
    merged[key] = value;
  }

  const parsed = schema.strict().safeParse(merged);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw first ? describe(first) : new ConfigError('config', 'invalid configuration');
  }
  return { config: parsed.data as z.infer<S>, positionals, ...(file ? { file } : {}) };
}
