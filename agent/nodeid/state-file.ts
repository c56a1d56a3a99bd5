// The node's own record of its identity, kept in the agent's state directory on the node (a
// hostPath in the DaemonSet). It survives agent restarts and — unlike anything in etcd — an
// etcd restore from an older backup, so the node can re-assert the ID it has been using.
// Written atomically (lib/atomic-file.ts) and only once an ID is committed.
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../../lib/atomic-file.ts';
import { join } from 'node:path';
import { NetloomError, errorMessage } from '../../lib/errors.ts';

export interface NodeState {
  cluster: string;
  node: string;
  id: number;
  /** When the ID was first committed (RFC 3339). */
  claimedAt: string;
  /** The etcd lease of the agent's last run (decimal), to recognise its own leftovers. */
  lease?: string;
}

export class StateFileError extends NetloomError {}

export function stateFilePath(stateDir: string, cluster: string): string {
  return join(stateDir, `node-${cluster}.json`);
}

/** The recorded state, or undefined when there is none (a new node). Corrupt files throw. */
export function readState(stateDir: string, cluster: string): NodeState | undefined {
  const path = stateFilePath(stateDir, cluster);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(`cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
  let state: NodeState;
  try {
    state = JSON.parse(text) as NodeState;
  } catch (err) {
    throw new StateFileError(
      `${path} is corrupt (${errorMessage(err)}); it holds this node's ID: repair it, do not delete it`,
      { cause: err },
    );
  }
  if (
    !Number.isInteger(state.id) ||
    state.id < 1 ||
    typeof state.node !== 'string' ||
    state.cluster !== cluster
  ) {
    throw new StateFileError(`${path} does not hold a valid node state for cluster ${cluster}`);
  }
  return state;
}

export function writeState(stateDir: string, state: NodeState): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileAtomicSync(stateFilePath(stateDir, state.cluster), JSON.stringify(state, null, 2) + '\n', {
    mode: 0o600,
  });
}
