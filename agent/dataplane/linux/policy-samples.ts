// The policy samples of testdata/policy-nft-1.0.6.json (shared by the test and the script that
// listed them from the real nft: `node agent/dataplane/linux/policy-samples.ts`, as root; it
// works in a throwaway network namespace of its own, removed even when nft fails).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { scriptOf } from './nft.ts';
import { peerSetOps, planPeerSet, planPolicy, policyOps, policySetupOps } from './policy-plan.ts';
import { allow, peerSetItem, policyItem } from './test-items.ts';

const pod = (name: string, ip: string): { namespace: string; name: string; ip: string } => ({
  namespace: 'ns',
  name,
  ip,
});

export const SAMPLE_SETS = [
  peerSetItem('web', ['10.1.1.21', '10.1.1.20', 'FD00:0:0::20']),
  peerSetItem('db', ['10.1.1.30']),
  peerSetItem('none', []),
];

const dual = policyItem(pod('b', '10.1.1.12'), {
  ingress: [allow(['web'], [], true), allow(['fd00::/8^fd00:1::/32']), allow(['none'], ['sctp/0'])],
});
dual.value.podIps.push('fd00::12');

export const SAMPLE_POLICIES = [
  {
    host: 'lxc-a',
    item: policyItem(pod('a', '10.1.1.11'), {
      ingress: [
        allow(
          ['web', '10.0.0.0/8^10.2.0.0/16,10.1.0.0/16,10.1.5.0/24,192.168.0.0/16'],
          ['tcp/80', 'tcp/8000-8080', 'udp/53', 'tcp/81', 'tcp/8080-8090'],
        ),
      ],
      egress: [allow([], ['udp/53']), allow(['db'], ['tcp/5432'])],
    }),
  },
  { host: 'lxc.b_1', item: dual },
  { host: 'lxc-c', item: policyItem(pod('c', '10.1.1.13'), { ingress: [], egress: [allow([])] }) },
  { host: 'lxc-d', item: policyItem(pod('d', '10.1.1.14'), {}) },
];

/** The whole sample table as one transaction. */
export function sampleScript(table: string): string {
  const ops = [
    ...policySetupOps(),
    ...SAMPLE_SETS.flatMap((s) => peerSetOps(s.key, undefined, planPeerSet(s.value))),
    ...SAMPLE_POLICIES.flatMap((p) =>
      policyOps(p.item.key, undefined, planPolicy(p.item.key, p.item.value, p.host)),
    ),
  ];
  return scriptOf(table, ops, 'inet');
}

if (import.meta.main) {
  const ns = `nlpolsample-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: sampleScript('netloom-policy') });
    const listing = execFileSync(
      'ip',
      ['netns', 'exec', ns, 'nft', '-j', 'list', 'table', 'inet', 'netloom-policy'],
      {
        encoding: 'utf8',
      },
    );
    const path = new URL('./testdata/policy-nft-1.0.6.json', import.meta.url);
    writeFileSync(path, JSON.stringify(JSON.parse(listing), null, 2) + '\n');
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}
