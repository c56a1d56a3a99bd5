// `netloom lab <up|status|check|restart|down>`: the whole system on one machine. Internal
// subcommands run the lab's own daemons: `kubelet` (the node simulator) and `supervise`.
import { loadConfig } from '../../lib/config.ts';
import { ConfigError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/logging.ts';
import { checkConnectivity } from './check.ts';
import { labComponents } from './components.ts';
import { labConfigSchema, type LabConfig } from './config.ts';
import { down } from './down.ts';
import { LabError } from './exec.ts';
import { labLayout } from './layout.ts';
import { ensureRunning, stopComponent } from './lifecycle.ts';
import { lock } from './lock.ts';
import { collectStatus, printStatus } from './status.ts';
import { readState, type LabState } from './state.ts';
import { supervise } from './supervise.ts';
import { binaries, up, type Out } from './up.ts';

const USAGE = `usage: netloom lab <command> [--name NAME] [--state-dir DIR] [flags]

  up [--nodes N]        start the lab (etcd, kube-apiserver, controller manager, KSR,
                        N simulated nodes with an agent each, the node simulator); a lab that
                        runs already is left as it is, its dead parts started again
  status [--json]       components, nodes (Ready, agent health), pods with their IPs
  check [--json]        every Running pod reaches every other one (TCP echo on 8080)
  restart <component>   stop and start one component (etcd, kube-etcd, kube-apiserver,
                        kube-controller-manager, ksr, agent-<node>, kubelet, supervisor)
  down                  remove everything: processes, namespaces, links, state dir
`;

const stdout: Out = { write: (t) => void process.stdout.write(t) };

function existing(cfg: LabConfig): LabState {
  const layout = labLayout(cfg);
  const state = readState(layout.files.state);
  if (!state)
    throw new LabError(`no lab "${cfg.name}" (no ${layout.files.state}); start one with \`netloom lab up\``);
  return state;
}

async function daemonMain(config: LabConfig, which: 'kubelet' | 'supervise'): Promise<number> {
  const state = existing(config);
  const logger = createLogger(which === 'kubelet' ? 'lab-kubelet' : 'lab-supervisor', {
    level: config.logLevel,
  });
  if (which === 'kubelet') {
    const { runKubelet } = await import('./kubelet/main.ts');
    return runKubelet(state, config.metricsAddr ?? state.kubeletAddr, logger);
  }
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  await supervise(state, binaries(), logger, stop.signal);
  return 0;
}

async function restart(cfg: LabConfig, name: string | undefined): Promise<number> {
  const state = existing(cfg);
  const components = labComponents(state, binaries());
  const c = components.find((x) => x.name === name);
  if (!c)
    throw new ConfigError(
      'component',
      `${name ?? '(none)'} is not one of ${components.map((x) => x.name).join(', ')}`,
    );
  const layout = labLayout(cfg);
  const held = await lock(layout.files.lock, `lab restart ${c.name}`, 60_000);
  if (!held.ok) throw new LabError(`another lab command (pid ${held.holder.pid}) holds the lab; try again`);
  try {
    const t0 = performance.now();
    await stopComponent(c, 3_000);
    const { rec } = await ensureRunning(c, cfg.timeoutSeconds * 1000);
    stdout.write(
      `${c.title} restarted (pid ${rec.pid}) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    return 0;
  } finally {
    held.release();
  }
}

export async function main(argv: string[]): Promise<number> {
  const { config, positionals } = loadConfig(labConfigSchema, { argv });
  const [command, arg] = positionals;
  const layout = labLayout(config);
  switch (command) {
    case 'up': {
      const explicitNodes =
        argv.some((a) => a === '--nodes' || a.startsWith('--nodes=')) ||
        process.env['NETLOOM_NODES'] !== undefined;
      try {
        const explicitKubelet = argv.some((a) => a === '--kubelet' || a.startsWith('--kubelet='));
        return await up(config, { explicitNodes, explicitKubelet, out: stdout });
      } catch (err) {
        if (err instanceof LabError) {
          process.stderr.write(
            `netloom lab up: ${err.message}\n\nThe lab is left as it is for inspection; \`netloom lab down${config.name === 'lab' ? '' : ` --name ${config.name}`}\` removes it.\n`,
          );
          return 1;
        }
        throw err;
      }
    }
    case 'down': {
      const res = await down(layout, stdout);
      return res.leftovers.length === 0 ? 0 : 1;
    }
    case 'status': {
      const s = await collectStatus(existing(config), binaries());
      if (config.json) stdout.write(JSON.stringify(s, null, 2) + '\n');
      else printStatus(s, stdout);
      return s.components.every((c) => c.running) ? 0 : 3;
    }
    case 'check': {
      const r = await checkConnectivity(existing(config));
      if (config.json) stdout.write(JSON.stringify(r, null, 2) + '\n');
      else {
        stdout.write(
          `${r.pods} pods, ${r.pairs} pairs: ${r.ok} reached (p50 ${r.p50Ms} ms, max ${r.maxMs} ms), ${r.failures.length} failed\n`,
        );
        for (const f of r.failures.slice(0, 50)) stdout.write(`  ✗ ${f.from} → ${f.to}: ${f.error}\n`);
      }
      return r.failures.length === 0 ? 0 : 1;
    }
    case 'restart':
      return restart(config, arg ?? config.component);
    case 'kubelet':
    case 'supervise':
      return daemonMain(config, command);
    case undefined:
    case 'help':
      process.stderr.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`netloom lab: unknown command ${command}\n${USAGE}`);
      return 2;
  }
}
