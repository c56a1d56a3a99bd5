// A lab that joins another (`lab up --name b --join lab`): a second cluster with its own API
// server, KSR, node simulator and nodes, against the first lab's netloom etcd and on its
// underlay bridge, so nodes of both clusters reach each other (and, with --mesh, their pods do).
// The first lab is found through its lab.json (/run/netloom-<join>/, or --join-state-dir); a
// joined lab holds a slot file `<first lab's state dir>/joined/<name>` naming its block of the
// shared underlay (slot s: nodes at .(10 + 50·s + i)), which `lab down` of the joined lab removes
// together with its cluster's keys in the shared etcd.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { etcdClientOf } from '../../lib/etcd/client.ts';
import { Store } from '../../lib/etcd/store.ts';
import { errorMessage } from '../../lib/errors.ts';
import { SharedKeyspace, parseSharedNodeIdHolder, Keyspace } from '../../lib/keyspace.ts';
import type { LabConfig } from './config.ts';
import { LabError } from './exec.ts';
import { defaultStateDir } from './layout.ts';
import { etcdAccess, readState, type LabState } from './state.ts';

/** Slots a joined lab can take on the shared /24 (slot 0 is the first lab's). */
export const MAX_SLOT = 3;

/** The lab `cfg.join` names, as its lab.json says; LabError when it does not exist. */
export function hostLab(cfg: Pick<LabConfig, 'join' | 'joinStateDir' | 'name'>): LabState {
  const name = cfg.join!;
  if (name === cfg.name) throw new LabError(`lab "${name}" cannot join itself`);
  const dir = cfg.joinStateDir ?? defaultStateDir(name);
  const state = readState(join(dir, 'lab.json'));
  if (!state)
    throw new LabError(
      `no lab "${name}" to join (no lab.json in ${dir}): run \`netloom lab up${name === 'lab' ? '' : ` --name ${name}`}\` first`,
    );
  if (state.join) throw new LabError(`lab "${name}" itself joins lab "${state.join.name}": join that one`);
  return state;
}

const slotDir = (host: LabState): string => join(host.stateDir, 'joined');

/** This lab's slot on the host's underlay: the one it holds, else the lowest free one. */
export function claimSlot(host: LabState, name: string): number {
  const dir = slotDir(host);
  mkdirSync(dir, { recursive: true });
  const mine = join(dir, name);
  if (existsSync(mine)) return Number(readFileSync(mine, 'utf8').trim());
  const used = new Set(readdirSync(dir).map((f) => Number(readFileSync(join(dir, f), 'utf8').trim())));
  for (let slot = 1; slot <= MAX_SLOT; slot++) {
    if (used.has(slot)) continue;
    writeFileSync(mine, `${slot}\n`);
    return slot;
  }
  throw new LabError(`lab "${host.name}" already has ${MAX_SLOT} labs joined to it (${dir})`);
}

/**
 * Forgets a joined lab in its host: the slot file, and its cluster's keys in the shared etcd
 * (`/netloom/v1/<cluster>/`, its registration and its store-wide node ID claims). Bounded: a
 * host lab that is already down leaves the keys to die with its etcd.
 */
export async function forgetJoined(state: LabState): Promise<string> {
  if (!state.join) return '';
  rmSync(join(state.join.stateDir, 'joined', state.name), { force: true });
  const a = etcdAccess(state);
  const store = new Store(
    etcdClientOf({ etcdEndpoints: [a.endpoint], etcdCa: a.ca, etcdCert: a.cert, etcdKey: a.key }),
  );
  const shared = new SharedKeyspace();
  const work = (async (): Promise<number> => {
    let n = await store.deletePrefix(new Keyspace(state.cluster).root);
    await store.delete(shared.key({ kind: 'cluster', cluster: state.cluster }));
    for (const kv of (await store.list(shared.prefix('sharedNodeId'))).kvs)
      if (
        parseSharedNodeIdHolder(kv.value)?.cluster === state.cluster &&
        (await store.deleteIf(kv.key, kv.modRevision))
      )
        n++;
    return n;
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('etcd did not answer within 5 s')), 5_000);
  });
  try {
    const n = await Promise.race([work, timeout]);
    return `cluster ${state.cluster}: ${n} keys removed from lab "${state.join.name}"'s etcd`;
  } catch (err) {
    return `cluster ${state.cluster}'s keys left in lab "${state.join.name}"'s etcd (${errorMessage(err)})`;
  } finally {
    clearTimeout(timer);
    store.close();
  }
}
