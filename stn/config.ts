// `netloom stn` settings: defaults here, then --config FILE, NETLOOM_<FIELD>, --flags.
import { z } from 'zod';
import { num } from '../lib/config.ts';
import { DEFAULT_SOCKET } from './grpc.ts';

const ms = (dflt: number) => num().pipe(z.number().int().min(0)).default(dflt);

export const stnConfigSchema = z.object({
  /** gRPC unix socket (created mode 0600). */
  socket: z.string().min(1).default(DEFAULT_SOCKET),
  /**
   * One state file per held interface. On tmpfs by default: after a reboot the kernel has its
   * own configuration back and a leftover record would be wrong.
   */
  stateDir: z.string().min(1).default('/run/netloom/stn'),
  /** Root of sysfs (tests point it at a fake tree). */
  sysfsRoot: z.string().min(1).default('/sys'),
  /** Network namespace (as for `ip -n`) whose interfaces the daemon manages; '' for its own. */
  netns: z.string().default(''),
  ipBinary: z.string().min(1).default('ip'),
  /** host:port of /livez, /readyz, /metrics, /status; '' to disable. */
  metricsAddr: z.string().default('127.0.0.1:9103'),
  /**
   * VPP's binary API socket: the watchdog's liveness check (control_ping); '' to skip. This is
   * what decides the NIC's fate: the data plane that uses it, not the agent that configures it.
   */
  dataPlaneApiSocket: z.string().default('/run/vpp/api.sock'),
  /** The data plane's host-side interface (VPP's TAP, `--stn-host-interface` of the agent); '' to skip. */
  dataPlaneInterface: z.string().default(''),
  /**
   * An HTTP URL the watchdog wants 200 from; '' (default) to skip. Not the agent's /readyz: that
   * is the control plane's readiness, lost in every etcd outage and agent rollout.
   */
  agentReadyzUrl: z.string().default(''),
  watchdogIntervalMs: ms(1_000).pipe(z.number().min(50)),
  /** Consecutive failed checks before the NIC is given back (with watchdogPeriodMs). */
  watchdogFailures: num().pipe(z.number().int().min(1)).default(10),
  /** …and for at least this long since the first of them: rides out a data plane restart. */
  watchdogPeriodMs: ms(10_000),
  /** After a steal (or resume), failures before the first healthy check count only after this. */
  watchdogGraceMs: ms(120_000),
  /** How long a step waits for the kernel to show its result. */
  kernelTimeoutMs: ms(15_000),
  /** Pause before retrying a release that failed. */
  releaseRetryMs: ms(5_000),
  logLevel: z.string().default('info'),
  /** Test aid: pause after every step of a steal or release (crash tests kill the daemon there). */
  debugStepPauseMs: ms(0),
});

export type StnConfig = z.infer<typeof stnConfigSchema>;
