import { describe, expect, it } from 'vitest';
import { labLayout, ownsNetns, podNetns } from './layout.ts';
import { kubeTime, microTime, nodeStatus, runningStatus, statusUpToDate } from './kubelet/objects.ts';
import type { PodRecord } from './kubelet/records.ts';
import { echoPorts, portMappings, resultIps } from './kubelet/runtime.ts';
import type { Pod } from './kubelet/types.ts';
import { kubeconfigYaml } from './kube-files.ts';

const pod: Pod = {
  metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1' },
  spec: {
    containers: [
      {
        name: 'web',
        image: 'nginx',
        ports: [
          { containerPort: 80, hostPort: 8081 },
          { containerPort: 53, protocol: 'UDP' },
        ],
      },
      { name: 'side', ports: [{ containerPort: 8080 }] },
    ],
    initContainers: [{ name: 'init' }],
  },
};
const rec: PodRecord = {
  uid: 'u-1',
  namespace: 'shop',
  name: 'web-1',
  node: 'lab-node1',
  netns: 'netloom-lab-pod-x',
  hostNetwork: false,
  containerId: 'abcdef0123456789',
  state: 'ready',
  ips: ['10.1.1.5'],
  restartCount: 0,
  startedAt: '2026-01-02T03:04:05.678Z',
};

describe('lab layout', () => {
  const l = labLayout({ name: 'lab', nodes: 3, underlayCidr: '192.168.100.0/24' });

  it('names everything under the lab prefix and derives node addresses', () => {
    expect(l.stateDir).toBe('/run/netloom-lab');
    expect(l.nodes.map((n) => [n.name, n.netns, n.ip])).toEqual([
      ['lab-node1', 'netloom-lab-node1', '192.168.100.11'],
      ['lab-node2', 'netloom-lab-node2', '192.168.100.12'],
      ['lab-node3', 'netloom-lab-node3', '192.168.100.13'],
    ]);
    expect(l.underlayNetns).toBe('netloom-lab-underlay');
    expect(ownsNetns(l, podNetns(l, 'some-uid'))).toBe(true);
    expect(podNetns(l, 'some-uid')).toMatch(/^netloom-lab-pod-[0-9a-f]{12}$/);
    // Another lab whose name starts the same is not ours.
    expect(ownsNetns(l, 'netloom-lab2-node1')).toBe(false);
  });
});

describe('what the simulated kubelet writes', () => {
  it('formats Kubernetes times', () => {
    const d = new Date('2026-01-02T03:04:05.678Z');
    expect(microTime(d)).toBe('2026-01-02T03:04:05.678000Z');
    expect(kubeTime(d)).toBe('2026-01-02T03:04:05Z');
  });

  it('reports a Running pod with its IPs, container and init container statuses', () => {
    const s = runningStatus(pod, rec, '192.168.100.11', true)['status'] as Record<string, unknown>;
    expect(s['phase']).toBe('Running');
    expect(s['podIP']).toBe('10.1.1.5');
    expect(s['podIPs']).toEqual([{ ip: '10.1.1.5' }]);
    expect(s['hostIP']).toBe('192.168.100.11');
    expect(
      (s['conditions'] as { type: string; status: string }[]).find((c) => c.type === 'Ready')?.status,
    ).toBe('True');
    expect(
      (s['containerStatuses'] as { name: string; ready: boolean }[]).map((c) => [c.name, c.ready]),
    ).toEqual([
      ['web', true],
      ['side', true],
    ]);
    expect(
      (s['initContainerStatuses'] as { state: { terminated: { exitCode: number } } }[])[0]!.state.terminated
        .exitCode,
    ).toBe(0);
  });

  it('knows when the status in the API is already right', () => {
    const written = {
      ...pod,
      status: runningStatus(pod, rec, '192.168.100.11', true)['status'] as Pod['status'],
    };
    expect(statusUpToDate(written, rec, true)).toBe(true);
    expect(statusUpToDate(written, rec, false)).toBe(false);
    expect(statusUpToDate(written, { ...rec, ips: ['10.1.1.6'] }, true)).toBe(false);
    expect(statusUpToDate(written, { ...rec, restartCount: 1 }, true)).toBe(false);
    expect(statusUpToDate(pod, rec, true)).toBe(false);
  });

  it('puts the network plugin state into the Ready condition', () => {
    const since = new Date('2026-01-01T00:00:00Z');
    const s = nodeStatus('n1', '192.168.100.11', {
      ready: false,
      reason: 'NetworkPluginNotReady',
      message: 'agent down',
      since,
    })['status'] as Record<string, unknown>;
    const ready = (s['conditions'] as Record<string, string>[]).find((c) => c['type'] === 'Ready')!;
    expect(ready).toMatchObject({
      status: 'False',
      reason: 'NetworkPluginNotReady',
      message: 'agent down',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    expect(s['addresses']).toEqual([
      { type: 'InternalIP', address: '192.168.100.11' },
      { type: 'Hostname', address: 'n1' },
    ]);
  });
});

describe('the simulated runtime', () => {
  it('echoes on 8080 and every declared port, maps host ports as containerd does', () => {
    expect(echoPorts(pod)).toEqual([53, 80, 8080]);
    expect(portMappings(pod)).toEqual([{ hostPort: 8081, containerPort: 80, protocol: 'tcp', hostIP: '' }]);
  });

  it('reads pod addresses from any CNI result version', () => {
    expect(
      resultIps({
        cniVersion: '1.0.0',
        ips: [{ address: '10.1.1.5/24', interface: 1 }, { address: 'fd00::5/64' }],
      }),
    ).toEqual(['10.1.1.5', 'fd00::5']);
    expect(resultIps({ cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.1.6/24' }] })).toEqual([
      '10.1.1.6',
    ]);
    expect(resultIps(undefined)).toEqual([]);
  });
});

describe('kubeconfig', () => {
  it('trusts the API server certificate file when there is one', () => {
    expect(
      kubeconfigYaml({ cluster: 'c', server: 'https://127.0.0.1:1', token: 't', caFile: '/k/ca.crt' }),
    ).toContain('certificate-authority: /k/ca.crt');
    expect(kubeconfigYaml({ cluster: 'c', server: 'https://127.0.0.1:1', token: 't' })).toContain(
      'insecure-skip-tls-verify: true',
    );
  });
});

describe('lab up summary', () => {
  it('names the kubeconfig, the etcd endpoint with its certificate flags and commands for this very lab', async () => {
    const { summary } = await import('./summary.ts');
    const layout = labLayout({
      name: 'lab2',
      stateDir: '/tmp/x',
      nodes: 2,
      underlayCidr: '192.168.100.0/24',
    });
    const text = summary({
      state: {
        version: 1,
        name: 'lab2',
        stateDir: '/tmp/x',
        nodes: 2,
        cluster: 'default',
        underlayCidr: '192.168.100.0/24',
        lbPool: '198.51.100.0/28',
        podProcess: 'echo',
        ports: {
          etcd: 2379,
          etcdPeer: 1,
          kubeEtcd: 2,
          kubeEtcdPeer: 3,
          apiserver: 4,
          controllerManager: 5,
          ksrMetrics: 6,
        },
        token: 't',
        createdAt: '',
        logLevel: 'info',
        agentArgs: '',
        kubeletAddr: 'unix:/tmp/x/kubelet.sock',
      },
      layout,
      kubeconfig: '/tmp/x/kube/kubeconfig',
      seconds: 7.25,
      warnings: ['careful'],
    });
    expect(text).toContain('The lab "lab2" is up (7.3 s): 2 nodes');
    expect(text).toContain('export KUBECONFIG=/tmp/x/kube/kubeconfig');
    expect(text).toContain(
      'ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/tmp/x/pki/ca.crt --cert=/tmp/x/pki/admin.crt --key=/tmp/x/pki/admin.key get --prefix /netloom/v1/ --keys-only',
    );
    expect(text).toContain('ip netns exec netloom-lab2-node1 ip route');
    expect(text).toContain('lab down --name lab2 --state-dir /tmp/x');
    expect(text).toContain('! careful');
  });
});
