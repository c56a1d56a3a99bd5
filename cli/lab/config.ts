// `netloom lab` settings: flags (--nodes 5), NETLOOM_* environment, or a config file. One schema
// for every lab subcommand, so `lab down --name t1` finds what `lab up --name t1` made.
import { z } from 'zod';
import { bool, num } from '../../lib/config.ts';

/** A lab's name: it prefixes every namespace, node and process marker, so it stays short. */
export const LAB_NAME = /^[a-z][a-z0-9]{0,7}$/;

export const labConfigSchema = z.object({
  /** Prefix of everything the lab creates (netns `netloom-<name>-…`, nodes `<name>-node<i>`). */
  name: z
    .string()
    .regex(LAB_NAME, 'a lowercase letter then up to 7 lowercase letters or digits')
    .default('lab'),
  /** Where pid files, logs, data, sockets and the kubeconfig live; default /run/netloom-<name>. */
  stateDir: z.string().min(1).optional(),
  nodes: num().pipe(z.number().int().min(1).max(50)).default(3),
  /** netloom's keyspace cluster name (/netloom/v1/<cluster>/). */
  cluster: z.string().default('default'),
  /** The simulated nodes' underlay network, private to the lab's namespaces (a /24). */
  underlayCidr: z
    .string()
    .regex(/^\d+\.\d+\.\d+\.0\/24$/, 'an IPv4 /24 such as 192.168.100.0/24')
    .default('192.168.100.0/24'),
  /**
   * LoadBalancer addresses KSR hands out (its `default` pool); the underlay routes them to the
   * first node, as a router in front of a cluster would.
   */
  lbPool: z
    .string()
    .regex(/^\d+\.\d+\.\d+\.\d+\/(2[4-9]|3[0-2])$/, 'an IPv4 prefix of /24 to /32 such as 198.51.100.0/28')
    .default('198.51.100.0/28'),
  /**
   * Who plays the nodes: `sim`, netloom's node simulator (default), or `real`: per node a
   * network + mount namespace running containerd and a real kubelet, kube-scheduler in the
   * control plane (cli/lab/real-node.ts).
   */
  kubelet: z.enum(['sim', 'real']).default('sim'),
  /**
   * The agents' data plane: `linux` (the kernel, default) or `vpp`: per node a real VPP (found
   * where test/tools/build-vpp.sh left it, or installed) with the node's second underlay port
   * as its uplink, pods wired as veth pairs VPP takes by af_packet (cli/lab/vpp.ts).
   */
  dataplane: z.enum(['linux', 'vpp']).default('linux'),
  /** What runs in each pod: a TCP/UDP echo server (any image), or nothing (benchmarks). */
  podProcess: z.enum(['echo', 'none']).default('echo'),
  /** `lab up`: seconds to wait for each component to become ready. */
  timeoutSeconds: num().pipe(z.number().int().min(5)).default(120),
  /** `lab status`/`lab check`: machine-readable output. */
  json: bool().default(false),
  /** `lab restart`: which component (also accepted as a positional argument). */
  component: z.string().optional(),
  /** The node simulator's /livez /readyz /metrics /status: host:port or unix:/path (default unix:<state dir>/kubelet.sock). */
  metricsAddr: z.string().min(1).optional(),
  /** CNI configuration list the node simulator runs (default deploy/netloom.conflist). */
  conflist: z.string().optional(),
  /**
   * Run this lab as another cluster on an existing lab's netloom etcd and underlay: the name of
   * that lab (its lab.json, in /run/netloom-<join> or --join-state-dir, says where its etcd is).
   * The cluster name defaults to this lab's name; use other --pod-cidr and --service-cidr.
   */
  join: z.string().regex(LAB_NAME).optional(),
  joinStateDir: z.string().min(1).optional(),
  /** The agents' pod CIDR (`--pod-cidr`); default the agent's (10.1.0.0/16). */
  podCidr: z.string().optional(),
  /** The agents' and the API server's service CIDR; default 10.96.0.0/12. */
  serviceCidr: z.string().optional(),
  /** Agents route to the other meshed clusters sharing the etcd (`netloom agent --mesh`). */
  mesh: bool().default(false),
  /** Extra flags for every node agent, space-separated (e.g. "--dataplane fake --resync-interval-seconds 30"). */
  agentArgs: z.string().default(''),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
});

export type LabConfig = z.infer<typeof labConfigSchema>;
