import { describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/errors.ts';
import { loadConfig } from '../lib/config.ts';
import { stnConfigSchema } from './config.ts';

describe('stn configuration', () => {
  it('has production defaults', () => {
    const { config } = loadConfig(stnConfigSchema, { argv: [], env: {} });
    expect(config).toMatchObject({
      socket: '/run/netloom/stn.sock',
      stateDir: '/run/netloom/stn',
      sysfsRoot: '/sys',
      netns: '',
      // The data plane's liveness, not the agent's readiness, decides the NIC's fate.
      dataPlaneApiSocket: '/run/vpp/api.sock',
      agentReadyzUrl: '',
      watchdogIntervalMs: 1_000,
      watchdogFailures: 10,
      watchdogPeriodMs: 10_000,
      debugStepPauseMs: 0,
    });
  });

  it('takes flags and environment', () => {
    const { config } = loadConfig(stnConfigSchema, {
      argv: ['--netns', 'lab1', '--watchdog-interval-ms', '200', '--agent-readyz-url', ''],
      env: { NETLOOM_WATCHDOG_FAILURES: '3', NETLOOM_SOCKET: '/tmp/x.sock' },
    });
    expect(config).toMatchObject({
      netns: 'lab1',
      watchdogIntervalMs: 200,
      watchdogFailures: 3,
      socket: '/tmp/x.sock',
      agentReadyzUrl: '',
    });
  });

  it('names the bad field', () => {
    expect(() => loadConfig(stnConfigSchema, { argv: ['--watchdog-failures', '0'], env: {} })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig(stnConfigSchema, { argv: ['--watchdog-interval-ms', '10'], env: {} })).toThrow(
      /watchdogIntervalMs/,
    );
    expect(() => loadConfig(stnConfigSchema, { argv: ['--no-such-flag', '1'], env: {} })).toThrow(
      /--no-such-flag: unknown flag/,
    );
  });
});
