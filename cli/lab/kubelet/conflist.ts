// Each lab node's CNI configuration: deploy/netloom.conflist (netloom, then portmap) when the
// checkout has it, else the same shape built in; the netloom plugin is pointed at this node's
// agent socket and a per-node log file. Pure but for reading the template.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfList } from './cni-runner.ts';

export const DEPLOY_CONFLIST = join(import.meta.dirname, '..', '..', '..', 'deploy', 'netloom.conflist');

export const BUILTIN_CONFLIST: ConfList = {
  cniVersion: '1.1.0',
  name: 'netloom',
  plugins: [{ type: 'netloom' }, { type: 'portmap', capabilities: { portMappings: true }, snat: true }],
};

export function loadTemplate(path = DEPLOY_CONFLIST): { list: ConfList; source: string } {
  if (!existsSync(path))
    return { list: BUILTIN_CONFLIST, source: 'built-in (deploy/netloom.conflist not found)' };
  return { list: JSON.parse(readFileSync(path, 'utf8')) as ConfList, source: path };
}

export function nodeConflist(template: ConfList, node: { cniSocket: string; cniLog: string }): ConfList {
  return {
    ...template,
    plugins: template.plugins.map((p) =>
      p.type === 'netloom' ? { ...p, agentSocket: node.cniSocket, logFile: node.cniLog } : p,
    ),
  };
}
