import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bool, list, loadConfig, num } from './config.ts';
import { ConfigError } from './errors.ts';

const schema = z.object({
  cluster: z.string().default('default'),
  etcdEndpoints: list(z.url()).default(['http://127.0.0.1:2379']),
  metricsAddr: z.string().default('127.0.0.1:9090'),
  resyncSeconds: num().pipe(z.number().int().positive()).default(300),
  debug: bool().default(false),
  tls: z.object({ ca: z.string().optional() }).strict().default({}),
});

const dir = mkdtempSync(join(tmpdir(), 'netloom-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults, then file, then env, then flags', () => {
    const path = file('ok.yaml', 'cluster: from-file\nresyncSeconds: 60\ntls:\n  ca: /ca.pem\n');
    const { config, positionals } = loadConfig(schema, {
      argv: ['run', '--config', path, '--etcd-endpoints', 'http://a:1,http://b:2', '--debug'],
      env: { NETLOOM_RESYNC_SECONDS: '30', NETLOOM_CLUSTER: 'from-env' },
    });
    expect(config).toEqual({
      cluster: 'from-env',
      etcdEndpoints: ['http://a:1', 'http://b:2'],
      metricsAddr: '127.0.0.1:9090',
      resyncSeconds: 30,
      debug: true,
      tls: { ca: '/ca.pem' },
    });
    expect(positionals).toEqual(['run']);
  });

  it('reads JSON files and --flag=value', () => {
    const path = file('ok.json', '{"cluster":"j"}');
    expect(
      loadConfig(schema, { argv: [`--config=${path}`, '--metrics-addr=:0'], env: {} }).config,
    ).toMatchObject({
      cluster: 'j',
      metricsAddr: ':0',
    });
  });

  it('names an unknown key in the file', () => {
    const err = errorOf(() =>
      loadConfig(schema, { argv: ['--config', file('unknown.yaml', 'clustr: x\n')], env: {} }),
    );
    expect(err.field).toBe('clustr');
    expect(err.message).toBe('clustr: unknown setting');
  });

  it('names an unknown nested key', () => {
    const err = errorOf(() =>
      loadConfig(schema, { argv: ['--config', file('nested.yaml', 'tls:\n  cert: x\n')], env: {} }),
    );
    expect(err.field).toBe('tls.cert');
  });

  it('names a field of the wrong type', () => {
    const err = errorOf(() =>
      loadConfig(schema, { argv: ['--config', file('type.yaml', 'resyncSeconds: soon\n')], env: {} }),
    );
    expect(err.field).toBe('resyncSeconds');
    expect(err.message).toMatch(/^resyncSeconds: .*number/);
  });

  it('names a bad value from a flag', () => {
    const err = errorOf(() => loadConfig(schema, { argv: ['--etcd-endpoints', 'not a url'], env: {} }));
    expect(err.field).toBe('etcdEndpoints.0');
  });

  it('names an unknown flag', () => {
    const err = errorOf(() => loadConfig(schema, { argv: ['--etcd-endpoint', 'http://x:1'], env: {} }));
    expect(err.message).toBe('--etcd-endpoint: unknown flag');
  });

  it('says which file cannot be read, and why', () => {
    const err = errorOf(() => loadConfig(schema, { argv: ['--config', join(dir, 'missing.yaml')], env: {} }));
    expect(err.field).toBe('config');
    expect(err.message).toMatch(/cannot read .*missing\.yaml: ENOENT/);
  });

  it('rejects a file that does not parse, or is not a mapping', () => {
    expect(
      errorOf(() => loadConfig(schema, { argv: ['--config', file('bad.yaml', 'a: [\n')], env: {} })).message,
    ).toMatch(/not valid YAML/);
    expect(
      errorOf(() => loadConfig(schema, { argv: ['--config', file('list.yaml', '- a\n')], env: {} })).message,
    ).toMatch(/mapping/);
  });
});
