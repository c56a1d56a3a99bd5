// TCP echo across the lab's pods: a server per pod, clients run from inside each pod.
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './netns.ts';

const SERVER = new URL('./echo-server.ts', import.meta.url).pathname;
const CLIENT = new URL('./echo-client.ts', import.meta.url).pathname;
export const ECHO_PORT = 7007;

export interface EchoPod {
  netns: string;
  ip: string;
}

export function startEchoServer(lab: Lab, pod: EchoPod): Promise<ChildProcess> {
  return lab.start(pod.netns, process.execPath, [SERVER, String(ECHO_PORT)]);
}

/** From inside `from`, one echo round trip to each target; returns ip → 'ok' | error. */
export async function echoOnce(
  lab: Lab,
  from: EchoPod,
  targets: readonly string[],
): Promise<Record<string, string>> {
  const out = await lab.exec(from.netns, process.execPath, [CLIENT, 'once', String(ECHO_PORT), ...targets]);
  return JSON.parse(out) as Record<string, string>;
}

/**
 * Every pod to every other pod, `parallel` clients at a time. Returns the failed pairs
 * ("from → to: error") and the number of pairs tried.
 */
export async function echoMesh(
  lab: Lab,
  pods: readonly EchoPod[],
  parallel = 3,
): Promise<{ failures: string[]; pairs: number }> {
  const failures: string[] = [];
  let pairs = 0;
  const queue = [...pods];
  const worker = async (): Promise<void> => {
    for (let from = queue.shift(); from !== undefined; from = queue.shift()) {
      const targets = pods.filter((p) => p !== from).map((p) => p.ip);
      const res = await echoOnce(lab, from, targets);
      for (const ip of targets) {
        pairs++;
        if (res[ip] !== 'ok') failures.push(`${from.ip} → ${ip}: ${res[ip] ?? 'no answer'}`);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { failures, pairs };
}

export interface StreamStats {
  sent: number;
  echoed: number;
  maxGapMs: number;
  error: string;
}

/** A long-lived echo connection from `from` to `to`; stop() ends it and returns its stats. */
export async function startStream(
  lab: Lab,
  from: EchoPod,
  to: string,
): Promise<{ stop(): Promise<StreamStats> }> {
  const child = await lab.start(from.netns, process.execPath, [CLIENT, 'stream', String(ECHO_PORT), to]);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    stop: async () => {
      const closed = new Promise((resolve) => child.on('exit', resolve));
      child.stdin!.end();
      await closed;
      return JSON.parse(out.trim().split('\n').pop() ?? '{}') as StreamStats;
    },
  };
}
