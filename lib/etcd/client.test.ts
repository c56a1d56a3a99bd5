import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { createEtcdClient, etcdTransportOf, type EtcdConfig } from './client.ts';

function errorOf(config: EtcdConfig): ConfigError {
  try {
    etcdTransportOf(config);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const https = ['https://10.0.0.1:2379'];

describe('etcdTransportOf: the one check of the etcd settings', () => {
  it('a key without a cert names the missing cert', () => {
    const err = errorOf({ etcdEndpoints: https, etcdCa: '/ca', etcdKey: '/k' });
    expect(err.field).toBe('etcdCert');
    expect(err.message).toMatch(/^etcdCert: missing: --etcd-key is set without --etcd-cert/);
  });

  it('a cert without a key names the missing key', () => {
    const err = errorOf({ etcdEndpoints: https, etcdCa: '/ca', etcdCert: '/c' });
    expect(err.field).toBe('etcdKey');
  });

  it('TLS files with plaintext endpoints are refused rather than ignored', () => {
    for (const etcdEndpoints of [['http://10.0.0.1:2379'], ['unix:///run/etcd.sock']]) {
      const err = errorOf({ etcdEndpoints, etcdCa: '/ca', etcdCert: '/c', etcdKey: '/k' });
      expect(err.field).toBe('etcdEndpoints');
      expect(err.message).toContain('plaintext but --etcd-ca is set');
    }
    expect(errorOf({ etcdEndpoints: ['http://a:1'], etcdCert: '/c', etcdKey: '/k' }).message).toContain(
      '--etcd-cert is set',
    );
  });

  it('TLS and plaintext endpoints cannot be mixed', () => {
    const err = errorOf({ etcdEndpoints: ['https://a:1', 'http://b:1'], etcdCa: '/ca' });
    expect(err.field).toBe('etcdEndpoints');
    expect(err.message).toContain('mixes');
  });

  it('an unknown scheme or no endpoint is an error', () => {
    expect(errorOf({ etcdEndpoints: ['grpc://a:1'] }).message).toContain('scheme must be');
    expect(errorOf({ etcdEndpoints: [] }).field).toBe('etcdEndpoints');
  });

  it('the scheme decides TLS; the files given are passed on as they are', () => {
    expect(etcdTransportOf({ etcdEndpoints: ['http://a:1', 'unix:///s'] })).toEqual({
      tls: false,
      files: {},
    });
    expect(
      etcdTransportOf({
        etcdEndpoints: ['https://a:1', 'unixs:///s'],
        etcdCa: '/ca',
        etcdCert: '/c',
        etcdKey: '/k',
      }),
    ).toEqual({ tls: true, files: { ca: '/ca', cert: '/c', key: '/k' } });
    // No CA: Node's trusted roots (documented in ADR 0008), still TLS.
    expect(etcdTransportOf({ etcdEndpoints: https })).toEqual({ tls: true, files: {} });
  });

  it('an unreadable file is a ConfigError naming its setting', () => {
    let err: unknown;
    try {
      createEtcdClient({ endpoints: https, tls: { ca: '/nonexistent/ca.crt' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe('etcdCa');
    expect((err as ConfigError).message).toContain('/nonexistent/ca.crt');
  });
});
