// The CNI environment, parsed and checked per command (pure). ADD and CHECK need the container,
// its netns and the interface name; DEL may come without a netns; STATUS, GC and VERSION need none.
import { CniCode, CniError } from './errors.ts';
import { containerIdProblem, ifnameProblem, netnsPathProblem } from './validate.ts';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CniEnv {
  command: Command;
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as given, and parsed into keys. */
  args: string;
  argMap: Record<string, string>;
  path: string[];
}

function invalid(msg: string): CniError {
  return new CniError(CniCode.InvalidEnvironment, msg);
}

/** `K=V;K2=V2`: unknown keys tolerated; a pair without '=' is an error. */
export function parseCniArgs(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of args.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalid(`CNI_ARGS: malformed pair ${JSON.stringify(pair)} (want KEY=VALUE)`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function parseEnv(env: Readonly<Record<string, string | undefined>>): CniEnv {
  const command = env['CNI_COMMAND'];
  if (!command) throw invalid('CNI_COMMAND is not set');
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw invalid(`CNI_COMMAND ${JSON.stringify(command)} is not one of ${COMMANDS.join(', ')}`);
  }
  const cmd = command as Command;
  const containerId = env['CNI_CONTAINERID'] ?? '';
  const netns = env['CNI_NETNS'] ?? '';
  const ifname = env['CNI_IFNAME'] ?? '';
  const needsContainer = cmd === 'ADD' || cmd === 'CHECK' || cmd === 'DEL';
  if (needsContainer) {
    if (!containerId) throw invalid('CNI_CONTAINERID is not set');
    const badId = containerIdProblem(containerId);
    if (badId) throw invalid(`CNI_CONTAINERID: ${badId}`);
    if (!ifname) throw invalid('CNI_IFNAME is not set');
    const badName = ifnameProblem(ifname);
    if (badName) throw invalid(`CNI_IFNAME: ${badName}`);
  }
  if ((cmd === 'ADD' || cmd === 'CHECK') && !netns) throw invalid('CNI_NETNS is not set');
  // STATUS and GC take no netns: what a runtime leaves in CNI_NETNS for them is not read.
  const badNetns = needsContainer && netns ? netnsPathProblem(netns) : undefined;
  if (badNetns) throw invalid(`CNI_NETNS: ${badNetns}`);
  const args = env['CNI_ARGS'] ?? '';
  return {
    command: cmd,
    containerId,
    netns,
    ifname,
    args,
    argMap: parseCniArgs(args),
    path: (env['CNI_PATH'] ?? '').split(':').filter((p) => p !== ''),
  };
}
