// What `lab up` prints once the lab runs: where things are and commands to paste. Pure.
import { PAUSE_IMAGE } from '../../scripts/image.ts';
import { defaultStateDir, type LabLayout } from './layout.ts';
import { etcdEndpoint, etcdctlFlags, type LabState } from './state.ts';

export interface SummaryInput {
  state: LabState;
  layout: LabLayout;
  kubeconfig: string;
  seconds: number;
  warnings: string[];
}

export function summary(s: SummaryInput): string {
  const { state, layout } = s;
  const etcd = etcdEndpoint(state);
  const etcdctl = `ETCDCTL_API=3 etcdctl ${etcdctlFlags(state)}`;
  const first = layout.nodes[0];
  const real = state.kubelet === 'real';
  // The flags that name this lab, when it is not the default one.
  const flags = [
    state.name === 'lab' ? '' : ` --name ${state.name}`,
    state.stateDir === defaultStateDir(state.name) ? '' : ` --state-dir ${state.stateDir}`,
  ].join('');
  const nodes = layout.nodes.map((n) => `${n.name} (${n.ip}, netns ${n.netns})`).join('\n    ');
  const lines = [
    '',
    `The lab "${state.name}" is up (${s.seconds.toFixed(1)} s): ${layout.nodes.length} node${layout.nodes.length === 1 ? '' : 's'}`,
    `    ${nodes}`,
    '',
    `  kubeconfig   ${s.kubeconfig}`,
    `  etcd         ${etcd}  (netloom's keyspace: /netloom/v1/${state.cluster}/; TLS, client certificates in ${layout.files.pki}/)`,
    `  logs         ${layout.files.logs}/`,
    '',
    'Try:',
    `  export KUBECONFIG=${s.kubeconfig}`,
    '  kubectl get nodes -o wide',
    ...(real
      ? [
          '  kubectl -n kube-system get pods -o wide      # netloom, deployed from deploy/overlays/linux',
          `  kubectl create deployment web --image=${PAUSE_IMAGE} --replicas=10 -- sh -c 'hostname > /tmp/id && exec httpd -f -p 8080 -h /tmp'`,
        ]
      : ['  kubectl create deployment echo --image=echo --replicas=20 --port=8080']),
    '  kubectl get pods -o wide',
    `  ${etcdctl} get --prefix /netloom/v1/ --keys-only`,
    `  ${etcdctl} get --prefix /netloom/v1/${state.cluster}/ipam/`,
    ...(first && !real
      ? [
          `  ip netns exec ${first.netns} ip route            # a node's routes`,
          `  ip netns exec ${first.netns} curl -s http://<pod IP>:8080/   # every pod echoes on 8080`,
        ]
      : []),
    `  npm run netloom -- lab status${flags}     # nodes, pods, agents`,
    `  npm run netloom -- lab check${flags}      # every pod reaches every other`,
    `  npm run netloom -- lab down${flags}       # remove everything`,
  ];
  if (s.warnings.length > 0) lines.push('', 'Warnings:', ...s.warnings.map((w) => `  ! ${w}`));
  return lines.join('\n') + '\n';
}
