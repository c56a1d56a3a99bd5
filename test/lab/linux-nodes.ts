// Two linux-driver nodes for the kernel suites: node namespaces on an underlay bridge, two pods
// each — one in a named namespace, one in a namespace held only by a process (its
// /proc/<pid>/ns/net path, as container runtimes pass them). `tag` keeps two sets apart in one Lab.
import type { TestNode, TestPod } from '../../agent/dataplane/linux/test-items.ts';
import type { Lab } from './netns.ts';

export type LinuxTestNode = TestNode & { netns: string };
export type LinuxTestPod = TestPod & { node: string };

export async function twoNodesTwoPods(
  lab: Lab,
  tag = '',
): Promise<{ nodes: LinuxTestNode[]; pods: Map<string, LinuxTestPod[]> }> {
  const names = [await lab.netns(`${tag}n1`), await lab.netns(`${tag}n2`)];
  const nodes: LinuxTestNode[] = (await lab.underlay(names)).map((u, i) => ({
    name: `n${i + 1}`,
    id: i + 1,
    underlayIp: u.ip,
    netns: u.netns,
  }));
  const pods = new Map<string, LinuxTestPod[]>();
  for (const n of nodes) {
    const list: LinuxTestPod[] = [];
    for (let j = 0; j < 2; j++) {
      const netns = j === 0 ? `/run/netns/${await lab.netns(`${tag}${n.name}-p${j}`)}` : await lab.pidNetns();
      list.push({
        node: n.name,
        namespace: 'default',
        name: `${n.name}-p${j}`,
        containerId: `c${n.id}${j}`,
        netns,
        ip: `10.1.${n.id}.${10 + j}`,
        hostIfName: `${lab.prefix}${tag}${n.id}${j}`,
      });
    }
    pods.set(n.name, list);
  }
  return { nodes, pods };
}
