// The environment a delegated plugin runs with (CNI spec 1.1 section "Parameters", and the
// CNI_ARGS containerd and CRI-O pass for a Kubernetes pod), and the checks of the request that
// feeds it. Pure.
//
// CNI_ARGS is `K=V;K2=V2`: a value holding ';' or '=' would smuggle in a key of its own
// (K8S_POD_NAME=x;IP=10.0.0.9), so the pod's identity is checked character by character
// rather than escaped (the format has no escaping).
import { netnsPathProblem, containerIdProblem } from '../../cni/validate.ts';
import { interfaceNameProblem } from '../../lib/netattach/selection.ts';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK';

/** The pod an attachment belongs to. `uid` may be '' (older CRI-O does not pass one). */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface InvocationParams {
  command: CniCommand;
  containerId: string;
  /** The pod's netns path; '' only for DEL (the namespace may be gone). */
  netns: string;
  ifname: string;
  binDirs: readonly string[];
  pod: PodRef;
}

/** Kubernetes names (DNS-1123 labels and subdomains) and UIDs: nothing CNI_ARGS would split on. */
const POD_FIELD = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** The first thing wrong with the request, as [field, problem], or undefined when it is usable. */
export function invocationProblem(p: InvocationParams): [string, string] | undefined {
  const id = containerIdProblem(p.containerId);
  if (id) return ['containerId', id];
  const ifname = interfaceNameProblem(p.ifname);
  if (ifname) return ['ifname', ifname];
  if (p.netns !== '' || p.command !== 'DEL') {
    const netns = netnsPathProblem(p.netns);
    if (netns) return ['netns', netns];
  }
  if (p.binDirs.length === 0) return ['binDirs', 'no plugin directory given'];
  for (const dir of p.binDirs)
    if (!dir.startsWith('/') || dir.includes(':') || dir.includes('\0'))
      return ['binDirs', `${JSON.stringify(dir)} is not an absolute path without ':'`];
  for (const [field, value] of [
    ['pod.namespace', p.pod.namespace],
    ['pod.name', p.pod.name],
  ] as const)
    if (!POD_FIELD.test(value)) return [field, `${JSON.stringify(value)} is not a Kubernetes name`];
  if (p.pod.uid !== '' && !POD_FIELD.test(p.pod.uid))
    return ['pod.uid', `${JSON.stringify(p.pod.uid)} is not a Kubernetes UID`];
  return undefined;
}

/** CNI_ARGS as containerd and CRI-O set it for a pod (K8S_POD_UID left out when unknown). */
export function cniArgsOf(pod: PodRef, containerId: string): string {
  const pairs: [string, string][] = [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAMESPACE', pod.namespace],
    ['K8S_POD_NAME', pod.name],
    ['K8S_POD_INFRA_CONTAINER_ID', containerId],
  ];
  if (pod.uid !== '') pairs.push(['K8S_POD_UID', pod.uid]);
  return pairs.map(([k, v]) => `${k}=${v}`).join(';');
}

/**
 * The plugin's whole environment: this process's (plugins run iptables, modprobe, … through
 * PATH), without any CNI_* it happens to carry, plus the call's own CNI_* variables. CNI_NETNS
 * is left out when empty (a DEL whose namespace is gone), as runtimes do.
 */
export function pluginEnv(base: NodeJS.ProcessEnv, p: InvocationParams): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('CNI_') && v !== undefined) env[k] = v;
  env['CNI_COMMAND'] = p.command;
  env['CNI_CONTAINERID'] = p.containerId;
  if (p.netns !== '') env['CNI_NETNS'] = p.netns;
  env['CNI_IFNAME'] = p.ifname;
  env['CNI_PATH'] = p.binDirs.join(':');
  env['CNI_ARGS'] = cniArgsOf(p.pod, p.containerId);
  return env;
}
