// The policy engine against an independent oracle: random NetworkPolicies (and random extra pod
// and namespace labels) over the upstream e2e model (x/y/z × a/b/c, serving 80 and 81 on TCP and
// UDP as serve-<port>-<proto>), judged by cyclonus v0.5.6 (`cyclonus analyze --mode probe`) and
// by netloom's explain; every ordered pod pair on every served port must agree.
//
// Each policy takes the path netloom's do: the Kubernetes object goes through KSR's converter and
// the agent's decoder. Cyclonus reads the object as the API server would store it: it insists on
// policyTypes and reads a missing protocol as no protocol, so those two defaults (Ingress, plus
// Egress when there are egress rules; TCP) are written into its copy only — netloom's copy keeps
// them absent, which checks netloom's defaulting too.
//
// Cyclonus is given one probe per named port (`"Port": "serve-80-udp"`): with numbered probes it
// names a port after the first container serving that number whatever the protocol, which would
// misjudge named UDP ports.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1NetworkPolicy } from '@kubernetes/client-node';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ipOf,
  namespace,
  NAMESPACES,
  pod,
  POD_NAMES,
  portName,
  SERVED,
  table,
} from '../agent/renderers/policy/testing.ts';
import { decode } from '../agent/view/decode.ts';
import { toJson } from '../ksr/convert/common.ts';
import { convertPolicy } from '../ksr/convert/policy.ts';
import { cyclonusAvailable, skipUnless } from './harness/availability.ts';
import { findCyclonus } from './harness/binaries.ts';
import { nsLabels, podLabels, policyScenario, type Scenario } from './policy-model.ts';

const run = promisify(execFile);
const skip = skipUnless('NetworkPolicy engine against cyclonus', cyclonusAvailable());
const RUNS = Number(process.env['NETLOOM_POLICY_ORACLE_RUNS'] ?? 30);

// Random policies and labels (policy-model.ts), on the model's addresses.
const scenario = policyScenario(ipOf);

// ---- the two sides ----

const clean = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The policy as the API server would store it: policyTypes and protocols defaulted. */
function apiDefaulted(p: Scenario['policies'][number]): object {
  const spec = clean(p.spec) as Record<string, unknown> & {
    ingress?: { ports?: { protocol?: string }[] }[];
    egress?: typeof spec.ingress;
  };
  spec['policyTypes'] ??= (spec.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  for (const r of [...(spec.ingress ?? []), ...(spec.egress ?? [])])
    for (const pp of r.ports ?? []) pp.protocol ??= 'TCP';
  return { ...p, spec };
}

const podKeys = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => [ns, p] as const));

function netloomTables(s: Scenario): string[][] {
  const namespaces = NAMESPACES.map((n, i) => ({ ...namespace(n), labels: nsLabels(s, i) }));
  const pods = podKeys.map(([ns, p], i) => pod(ns, p, { labels: podLabels(s, i) }));
  const policies = s.policies.map((k) => decode.policy(toJson(convertPolicy(clean(k) as V1NetworkPolicy))));
  const inputs = {
    namespaces: new Map(namespaces.map((n) => [n.name, n])),
    pods: new Map(pods.map((p) => [`${p.namespace}/${p.name}`, p])),
    policies: new Map(policies.map((p) => [`${p.namespace}/${p.name}`, p])),
  };
  return SERVED.map((sv) => table(inputs, sv.protocol, sv.port));
}

function probeModel(s: Scenario): object {
  return {
    Probes: SERVED.map((sv) => ({ Protocol: sv.protocol, Port: portName(sv.port, sv.protocol) })),
    Resources: {
      Namespaces: Object.fromEntries(NAMESPACES.map((n, i) => [n, nsLabels(s, i)])),
      Pods: podKeys.map(([ns, p], i) => ({
        Namespace: ns,
        Name: p,
        Labels: podLabels(s, i),
        IP: ipOf(`${ns}/${p}`),
        Containers: SERVED.map((sv) => ({
          Name: `c-${sv.port}-${sv.protocol.toLowerCase()}`,
          Port: sv.port,
          Protocol: sv.protocol,
          PortName: portName(sv.port, sv.protocol),
        })),
      })),
    },
  };
}

/** The "Combined" tables cyclonus prints, one per probe, as netloom's `table` rows. */
function parseCombined(out: string): string[][] {
  const tables: string[][] = [];
  for (const section of out.split('Combined:\n').slice(1)) {
    // Up to the blank line that ends this table (the next probe's Ingress table follows).
    const lines = section
      .split('\n\n')[0]!
      .split('\n')
      .filter((l) => l.startsWith('|'));
    // It ends with an empty table for the cluster's own pods, which a probe run does not read.
    if (lines.length < 2) continue;
    const header = lines[0]!
      .split('|')
      .slice(2, -1)
      .map((c) => c.trim().toLowerCase());
    const rows = new Map(
      lines.slice(1).map((l) => {
        const cells = l
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim());
        return [cells[0]!, new Map(header.map((h, i) => [h, cells[i + 1]!]))] as const;
      }),
    );
    const keys = podKeys.map(([ns, p]) => `${ns}/${p}`);
    tables.push(
      keys.map((from) => {
        const row = keys.map((to) => rows.get(from)?.get(to) ?? '?').join('');
        return `${row.slice(0, 3)} ${row.slice(3, 6)} ${row.slice(6)}`;
      }),
    );
  }
  return tables;
}

describe.skipIf(skip)('NetworkPolicy engine against cyclonus v0.5.6', () => {
  let dir = '';
  let bin = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netloom-policy-oracle-'));
    const found = findCyclonus();
    if (found.ok) bin = found.path;
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function cyclonus(s: Scenario): Promise<string[][]> {
    const list = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicyList',
      items: s.policies.map(apiDefaulted),
    };
    await writeFile(join(dir, 'policies.json'), JSON.stringify(list));
    await writeFile(join(dir, 'probe.json'), JSON.stringify(probeModel(s)));
    const args = [
      'analyze',
      '--mode',
      'probe',
      '--policy-path',
      join(dir, 'policies.json'),
      '--probe-path',
      join(dir, 'probe.json'),
    ];
    const { stdout } = await run(bin, args, { maxBuffer: 16 << 20, timeout: 60_000 });
    return parseCombined(stdout);
  }

  it('a hand case first: cyclonus and netloom read the same tables', async () => {
    const s: Scenario = {
      policies: [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { namespace: 'x', name: 'p0' },
          spec: {
            podSelector: { matchLabels: { pod: 'a' } },
            ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }],
          },
        },
      ],
      app: Array<undefined>(9).fill(undefined),
      team: Array<undefined>(3).fill(undefined),
    };
    const theirs = await cyclonus(s);
    expect(theirs).toHaveLength(4);
    expect(theirs[0]![1]).toBe('... ... ...');
    expect(theirs[0]![3]).toBe('X.. ... ...');
    expect(netloomTables(s)).toEqual(theirs);
  });

  it(`${RUNS} random scenarios: every pair on every port agrees`, async () => {
    const seen = { allowed: 0, denied: 0 };
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const theirs = await cyclonus(s);
        const ours = netloomTables(s);
        for (const t of theirs)
          for (const row of t)
            for (const c of row)
              if (c === '.') seen.allowed++;
              else if (c === 'X') seen.denied++;
        expect(ours).toEqual(theirs);
      }),
      {
        numRuns: RUNS,
        ...(process.env['NETLOOM_POLICY_ORACLE_SEED']
          ? { seed: Number(process.env['NETLOOM_POLICY_ORACLE_SEED']) }
          : {}),
      },
    );
    process.stderr.write(
      `policy oracle: ${RUNS} scenarios, ${seen.allowed} allowed and ${seen.denied} denied cells agreed\n`,
    );
    // Random policies that allowed everything (or nothing) would prove little.
    expect(seen.allowed).toBeGreaterThan(0);
    expect(seen.denied).toBeGreaterThan(0);
  }, 600_000);
});
