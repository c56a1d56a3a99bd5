// deploy/'s overlays as kustomize renders them (kubectl built from the Kubernetes modules by
// test/tools/build.sh, else the machine's):
// - every netloom container's arguments and NETLOOM_* environment (ConfigMap values, downward
//   API and $(VAR) references resolved as the kubelet does) parse with that command's own
//   schema, and every NETLOOM_* variable is one the command reads, so the manifests cannot drift
//   from the code; what they configure is checked (TLS etcd at etcd-ip, certificates from the
//   right Secret, the node address from status.hostIP, one image, distinct host ports,
//   resources, probes);
// - a real kube-apiserver with RBAC accepts every overlay (`apply --dry-run=server -k`), and
//   once applied each ServiceAccount may do what its component calls and nothing more (`auth
//   can-i --as`, each answer against a list, and `--list` against an account with no roles);
// - the certificate Job's command, run with its own ServiceAccount's token, fills the Secrets
//   and a second run changes nothing; with another etcd-ip it issues etcd's certificate alone
//   again, and the etcd binary run with the rendered command and those files serves KSR and the
//   agent with the configuration their containers load, and no client without a certificate.
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import type { z } from 'zod';
import { loadConfig } from '../lib/config.ts';
import { errorMessage } from '../lib/errors.ts';
import { ksrConfigSchema } from '../ksr/config.ts';
import { agentConfigSchema } from '../agent/config.ts';
import { stnConfigSchema } from '../stn/config.ts';
import { installCniSchema } from '../cli/install-cni.ts';
import { certsSecretsConfigSchema, holders, syncSecrets } from '../cli/certs-secrets.ts';
import { startKubeApiserver, type KubeApiserverHandle } from './harness/kube-apiserver.ts';
import { kubeApiserverAvailable, skipUnless, type Availability } from './harness/availability.ts';
import { CACHE_BIN, findEtcd } from './harness/binaries.ts';
import { TestProcess } from './harness/process.ts';
import { freePort } from '../lib/free-ports.ts';
import { etcdClientOf } from '../lib/etcd/client.ts';
import { Store } from '../lib/etcd/store.ts';

const root = new URL('..', import.meta.url).pathname;
const OVERLAYS = ['linux', 'vpp'] as const;
type Overlay = (typeof OVERLAYS)[number];

/** NETLOOM_KUBECTL, else test/tools/build.sh's kubectl, else the one on PATH. */
function findKubectl(): Availability & { path?: string } {
  const candidates = [process.env['NETLOOM_KUBECTL'], join(CACHE_BIN, 'kubectl'), 'kubectl'];
  for (const c of candidates) {
    if (!c || (c.includes('/') && !existsSync(c))) continue;
    const r = spawnSync(c, ['version', '--client'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0) return { ok: true, detail: r.stdout.split('\n')[0] ?? c, path: c };
  }
  return { ok: false, component: 'kubectl', reason: 'no kubectl (run test/tools/build.sh, which needs Go)' };
}
const kubectlFound = findKubectl();
const kubectl = kubectlFound.path ?? 'kubectl';

// ---- the rendered objects, loosely typed: only what the checks read ----

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Probe {
  httpGet?: { path: string; port: number; host?: string };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  priorityClassName?: string;
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; secret?: { secretName: string }; hostPath?: { path: string } }[];
  affinity?: {
    podAntiAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { topologyKey: string }[] };
  };
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    template?: { spec: PodSpec };
    jobTemplate?: { spec: { template: { spec: PodSpec } } };
  };
  automountServiceAccountToken?: boolean;
}

function render(overlay: Overlay): K8sObject[] {
  const text = execFileSync(kubectl, ['kustomize', join(root, 'deploy/overlays', overlay)], {
    encoding: 'utf8',
  });
  return parseAllDocuments(text).map((d) => d.toJSON() as K8sObject);
}

function podSpec(o: K8sObject): PodSpec | undefined {
  return o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec.template.spec;
}

const workloads = (objects: K8sObject[]): { o: K8sObject; pod: PodSpec }[] =>
  objects.flatMap((o) => {
    const pod = podSpec(o);
    return pod ? [{ o, pod }] : [];
  });

/** What the downward API gives in these checks (a node and pod as the kubelet would). */
const FIELDS: Record<string, string> = {
  'spec.nodeName': 'node-a',
  'status.hostIP': '192.0.2.21',
  'metadata.name': 'netloom-ksr-7d9c-x2',
};

/** $(VAR) of variables defined before, as the kubelet expands them; others stay as written. */
const expand = (s: string, env: Record<string, string>): string =>
  s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => env[n] ?? m);

function resolveEnv(c: Container, objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    let v: string | undefined;
    if (e.value !== undefined) v = expand(e.value, env);
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref.name);
      v = cm?.data?.[ref.key];
    } else if (e.valueFrom?.fieldRef) v = FIELDS[e.valueFrom.fieldRef.fieldPath];
    if (v === undefined) throw new Error(`${c.name}: env ${e.name} resolves to nothing`);
    env[e.name] = v;
  }
  return env;
}

const SCHEMAS: Record<string, z.ZodObject> = {
  ksr: ksrConfigSchema,
  agent: agentConfigSchema,
  stn: stnConfigSchema,
  'install-cni': installCniSchema,
  'certs-secrets': certsSecretsConfigSchema,
};

interface Parsed {
  workload: string;
  container: Container;
  pod: PodSpec;
  command: string;
  config: Record<string, unknown>;
  env: Record<string, string>;
}

/** Every netloom container, its configuration as its command loads it. */
function netloomConfigs(objects: K8sObject[], image: string): Parsed[] {
  return workloads(objects).flatMap(({ o, pod }) =>
    [...(pod.initContainers ?? []), ...pod.containers]
      .filter((c) => c.image === image)
      .map((container) => {
        const env = resolveEnv(container, objects);
        const [command = '', ...argv] = (container.args ?? []).map((a) => expand(a, env));
        const schema = SCHEMAS[command];
        if (!schema) throw new Error(`${o.metadata.name}/${container.name}: no schema for ${command}`);
        const netloomEnv = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('NETLOOM_')));
        const { config } = loadConfig(schema, { argv, env: netloomEnv });
        // Each NETLOOM_* variable must be read: a different value changes the result or is refused.
        for (const name of Object.keys(netloomEnv)) {
          let read: boolean;
          try {
            const other = loadConfig(schema, { argv, env: { ...netloomEnv, [name]: '\u0000other' } }).config;
            read = JSON.stringify(other) !== JSON.stringify(config);
          } catch {
            read = true;
          }
          expect(read, `${o.metadata.name}/${container.name}: ${name} is not a setting of ${command}`).toBe(
            true,
          );
        }
        return {
          workload: `${o.kind}/${o.metadata.name}`,
          container,
          pod,
          command,
          config: config,
          env,
        };
      }),
  );
}

/** The Secret a path in the container comes from (mounted whole, never by subPath). */
function secretOf(pod: PodSpec, c: Container, path: string): string | undefined {
  const m = c.volumeMounts?.find((vm) => path.startsWith(vm.mountPath + '/'));
  return m && pod.volumes?.find((v) => v.name === m.name)?.secret?.secretName;
}

const portOf = (addr: string): number => Number(addr.slice(addr.lastIndexOf(':') + 1));
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

const skipRender = skipUnless('deploy manifests (kustomize)', kubectlFound);

describe.skipIf(skipRender)('deploy/overlays, rendered', () => {
  describe.each(OVERLAYS)('%s', (overlay) => {
    // Collected even when skipped: render nothing then.
    const objects = skipRender ? [] : render(overlay);
    const configMap = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('netloom-config'),
    );
    const etcdIp = configMap?.data?.['etcd-ip'] ?? '';
    const images = new Set(
      workloads(objects).flatMap(({ pod }) =>
        [...(pod.initContainers ?? []), ...pod.containers].map((c) => c.image),
      ),
    );
    const image = [...images].find((i) => i.includes('/netloom:')) ?? '';
    const parsed = netloomConfigs(objects, image);
    const one = (command: string): Parsed => {
      const found = parsed.filter((p) => p.command === command);
      expect(found, command).toHaveLength(command === 'certs-secrets' ? 2 : 1);
      return found[0]!;
    };

    it('name one netloom image, tagged with the release, in every netloom container', () => {
      expect(image).toBe(`ghcr.io/netloom/netloom:${version}`);
      expect([...images].sort()).toEqual([image, 'gcr.io/etcd-development/etcd:v3.6.16'].sort());
      expect(parsed.map((p) => p.command).sort()).toEqual(
        [
          'agent',
          'certs-secrets',
          'certs-secrets',
          'install-cni',
          'ksr',
          ...(overlay === 'vpp' ? ['stn'] : []),
        ].sort(),
      );
    });

    it('point KSR and the agent at etcd-ip over TLS, with their own certificates from their Secrets', () => {
      expect(etcdIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      for (const [command, secret, client] of [
        ['ksr', 'netloom-etcd-ksr', 'ksr'],
        ['agent', 'netloom-etcd-agent', 'agent'],
      ] as const) {
        const p = one(command);
        expect(p.config['etcdEndpoints'], command).toEqual([`https://${etcdIp}:12379`]);
        for (const field of ['etcdCa', 'etcdCert', 'etcdKey']) {
          const path = p.config[field] as string;
          expect(secretOf(p.pod, p.container, path), `${command} ${field}`).toBe(secret);
        }
        expect(p.config['etcdCert']).toMatch(new RegExp(`/${client}\\.crt$`));
      }
    });

    it('give the agent status.hostIP as its address, its data plane, and no API access', () => {
      const agent = one('agent');
      expect(agent.config['managementIp']).toBe(FIELDS['status.hostIP']);
      expect(agent.env['NODE_NAME']).toBe(FIELDS['spec.nodeName']);
      expect(agent.config['dataplane']).toBe(overlay);
      expect(agent.config['podCidr']).toBe(configMap?.data?.['pod-cidr']);
      expect(agent.pod.automountServiceAccountToken).toBe(false);
      const install = one('install-cni');
      expect(install.config['pluginDir']).toBe('/usr/lib/cni');
      expect(install.config['agentSocket']).toBe(agent.config['cniSocket']);
    });

    it('run etcd TLS-only on etcd-ip with client-certificate auth, its pair from a whole Secret', () => {
      const etcd = workloads(objects).find(({ o }) => o.metadata.name === 'netloom-etcd');
      expect(etcd).toBeDefined();
      const c = etcd!.pod.containers[0]!;
      const env = resolveEnv(c, objects);
      const flags = new Map(
        (c.command ?? []).slice(1).map((a) => {
          const [k, ...v] = expand(a, env).split('=');
          return [k!, v.join('=')] as const;
        }),
      );
      expect(flags.get('--listen-client-urls')).toBe(`https://${etcdIp}:12379,https://127.0.0.1:12379`);
      expect(flags.get('--advertise-client-urls')).toBe(`https://${etcdIp}:12379`);
      expect(flags.has('--client-cert-auth')).toBe(true);
      for (const f of ['--trusted-ca-file', '--cert-file', '--key-file'])
        expect(secretOf(etcd!.pod, c, flags.get(f) ?? ''), f).toBe('netloom-etcd-server');
      expect(etcd!.pod.hostNetwork).toBe(true);
      // Nothing mounts a Secret by subPath: renewed files would never reach the container.
      for (const { pod } of workloads(objects))
        for (const ct of [...(pod.initContainers ?? []), ...pod.containers])
          for (const m of ct.volumeMounts ?? [])
            if (pod.volumes?.find((v) => v.name === m.name)?.secret)
              expect(m.subPath, ct.name).toBeUndefined();
    });

    it('issue etcd a certificate for etcd-ip and its service names, into the Secrets the pods mount', () => {
      const jobs = parsed.filter((p) => p.command === 'certs-secrets');
      const names = holders('netloom-etcd', '/x', ['ksr', 'agent', 'admin']).map((h) => h.name);
      for (const j of jobs) {
        expect(j.config['ip']).toEqual([etcdIp, '127.0.0.1']);
        expect(j.config['dns']).toEqual(
          expect.arrayContaining([
            'netloom-etcd.kube-system.svc',
            'netloom-etcd.kube-system.svc.cluster.local',
          ]),
        );
        expect(j.config['namespace']).toBe('kube-system');
        expect(j.pod.hostNetwork).toBe(true);
      }
      const mounted = workloads(objects).flatMap(({ pod }) =>
        (pod.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName] : [])),
      );
      expect(mounted.length).toBeGreaterThan(0);
      for (const s of mounted) expect(names).toContain(s);
    });

    it('bind distinct host ports per component, KSR replicas on distinct nodes', () => {
      const ports = new Map<number, string>();
      const claim = (port: number, who: string): void => {
        expect(ports.get(port) ?? who, `port ${port}`).toBe(who);
        ports.set(port, who);
      };
      for (const p of parsed)
        if (typeof p.config['metricsAddr'] === 'string') claim(portOf(p.config['metricsAddr']), p.workload);
      for (const port of [12379, 12380, 12381]) claim(port, 'StatefulSet/netloom-etcd');
      expect([...ports.keys()].sort()).toEqual(
        [9101, 9102, ...(overlay === 'vpp' ? [9103] : []), 12379, 12380, 12381].sort(),
      );
      const ksr = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'netloom-ksr')!;
      expect(ksr.spec?.replicas).toBe(2);
      expect(
        ksr.spec?.template?.spec.affinity?.podAntiAffinity
          ?.requiredDuringSchedulingIgnoredDuringExecution?.[0]?.topologyKey,
      ).toBe('kubernetes.io/hostname');
      expect(one('ksr').config['metricsAddr']).toBe(`${FIELDS['status.hostIP']}:9101`);
    });

    it('give every container requests and limits, every daemon liveness and readiness probes and a priority', () => {
      for (const { o, pod } of workloads(objects)) {
        expect(pod.priorityClassName, o.metadata.name).toMatch(/^system-(node|cluster)-critical$/);
        for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
          const r = c.resources;
          for (const k of ['cpu', 'memory']) {
            expect(r?.requests?.[k], `${o.metadata.name}/${c.name} requests.${k}`).toBeDefined();
            expect(r?.limits?.[k], `${o.metadata.name}/${c.name} limits.${k}`).toBeDefined();
          }
        }
        if (o.kind === 'Job' || o.kind === 'CronJob') continue;
        for (const c of pod.containers) {
          expect(c.livenessProbe?.httpGet?.path, `${o.metadata.name} liveness`).toBe('/livez');
          expect(c.readinessProbe?.httpGet?.path, `${o.metadata.name} readiness`).toBe('/readyz');
        }
      }
    });

    it('label every object as part of netloom (kubectl get -l app.kubernetes.io/part-of=netloom)', () => {
      for (const o of objects)
        expect(o.metadata.labels?.['app.kubernetes.io/part-of'], `${o.kind}/${o.metadata.name}`).toBe(
          'netloom',
        );
    });

    it('install the NetworkAttachmentDefinition CRD (k8s.cni.cncf.io/v1)', () => {
      const crd = objects.find((o) => o.kind === 'CustomResourceDefinition');
      expect(crd?.metadata.name).toBe('network-attachment-definitions.k8s.cni.cncf.io');
    });
  });
});

// ---- against a real API server with RBAC ----

/** What each component calls, by ServiceAccount: `kubectl auth can-i` arguments. */
const NEEDS: Record<string, string[][]> = {
  'netloom-ksr': [
    ...['namespaces', 'nodes', 'pods', 'services'].flatMap((r) => [
      ['list', r, '-A'],
      ['watch', r, '-A'],
    ]),
    ...['endpointslices.discovery.k8s.io', 'networkpolicies.networking.k8s.io'].flatMap((r) => [
      ['list', r, '-A'],
      ['watch', r, '-A'],
    ]),
    ['list', 'network-attachment-definitions.k8s.cni.cncf.io', '-A'],
    ['watch', 'network-attachment-definitions.k8s.cni.cncf.io', '-A'],
    ['patch', 'network-attachment-definitions.k8s.cni.cncf.io', '-n', 'default'],
    ['patch', 'pods', '-n', 'default'],
    ['patch', 'services', '--subresource=status', '-n', 'default'],
    ['create', 'events', '-n', 'default'],
  ],
  'netloom-certs': [
    ['create', 'secrets', '-n', 'kube-system'],
    ...['ca', 'server', 'ksr', 'agent', 'admin'].flatMap((h) => [
      ['get', `secrets/netloom-etcd-${h}`, '-n', 'kube-system'],
      ['update', `secrets/netloom-etcd-${h}`, '-n', 'kube-system'],
    ]),
  ],
  'netloom-agent': [],
  'netloom-stn': [],
};

/** What no netloom account may do (each is asked of every account). */
const MUST_NOT: string[][] = [
  ['get', 'secrets', '-n', 'kube-system'],
  ['list', 'secrets', '-A'],
  ['get', 'secrets/bootstrap-token-abcdef', '-n', 'kube-system'],
  ['delete', 'secrets/netloom-etcd-ca', '-n', 'kube-system'],
  ['create', 'secrets', '-n', 'default'],
  ['create', 'pods', '--subresource=exec', '-n', 'default'],
  ['create', 'pods', '-n', 'kube-system'],
  ['delete', 'pods', '-n', 'default'],
  ['update', 'pods', '-n', 'default'],
  ['get', 'pods', '-n', 'default'],
  ['patch', 'pods', '--subresource=status', '-n', 'default'],
  ['update', 'network-attachment-definitions.k8s.cni.cncf.io', '-n', 'default'],
  ['delete', 'network-attachment-definitions.k8s.cni.cncf.io', '-n', 'default'],
  ['update', 'nodes'],
  ['patch', 'nodes'],
  ['patch', 'nodes', '--subresource=status'],
  ['update', 'services', '-n', 'default'],
  ['patch', 'services', '-n', 'default'],
  ['update', 'services', '--subresource=status', '-n', 'default'],
  ['get', 'configmaps', '-n', 'kube-system'],
  ['create', 'customresourcedefinitions.apiextensions.k8s.io'],
  ['bind', 'clusterroles.rbac.authorization.k8s.io'],
  ['escalate', 'clusterroles.rbac.authorization.k8s.io'],
  ['create', 'serviceaccounts', '--subresource=token', '-n', 'kube-system'],
  ['impersonate', 'users'],
  ['update', 'daemonsets.apps', '-n', 'kube-system'],
];

const skipApi = skipRender || skipUnless('deploy manifests against kube-apiserver', kubeApiserverAvailable());

describe.skipIf(skipApi)('deploy/overlays against a real API server (RBAC on)', () => {
  let kube: KubeApiserverHandle;
  const k = (...args: string[]): { status: number; out: string } => {
    const r = spawnSync(kubectl, ['--kubeconfig', kube.kubeconfigPath, ...args], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  };
  const canI = (sa: string, args: string[]): boolean => {
    const r = k('auth', 'can-i', `--as=system:serviceaccount:kube-system:${sa}`, ...args);
    if (r.status !== 0 && r.status !== 1) throw new Error(`auth can-i ${args.join(' ')}: ${r.out}`);
    return r.status === 0;
  };

  beforeAll(async () => {
    kube = await startKubeApiserver({ authorization: 'rbac' });
  });
  afterAll(async () => {
    await kube?.destroy();
  });

  it.each(OVERLAYS)('accept overlay %s in a server-side dry run', (overlay) => {
    const r = k('apply', '--dry-run=server', '-k', join(root, 'deploy/overlays', overlay));
    process.stdout.write(`\nkubectl apply --dry-run=server -k deploy/overlays/${overlay}:\n${r.out}`);
    expect(r.status, r.out).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(render(overlay).length);
    for (const l of lines) expect(l).toMatch(/ (created|configured|unchanged) \(server dry run\)$/);
  });

  it('let each ServiceAccount do what its component calls and nothing more', () => {
    const r = k('apply', '-k', join(root, 'deploy/overlays/vpp'));
    expect(r.status, r.out).toBe(0);
    const table: string[] = [
      '| ServiceAccount | kubectl auth can-i … | expected | answer |',
      '|---|---|---|---|',
    ];
    const wrong: string[] = [];
    for (const [sa, needs] of Object.entries(NEEDS)) {
      for (const [args, want] of [
        ...needs.map((a) => [a, true] as const),
        ...MUST_NOT.map((a) => [a, false] as const),
      ]) {
        const got = canI(sa, args);
        table.push(`| ${sa} | ${args.join(' ')} | ${want ? 'yes' : 'no'} | ${got ? 'yes' : 'no'} |`);
        if (got !== want) wrong.push(`${sa}: ${args.join(' ')} → ${got ? 'yes' : 'no'}`);
      }
    }
    process.stdout.write(`\n${table.join('\n')}\n`);
    expect(wrong).toEqual([]);

    // Beyond the list: the agent's and STN's rules are exactly those of an account no role names.
    const rules = (sa: string): string =>
      k('auth', 'can-i', '--list', '-n', 'kube-system', `--as=system:serviceaccount:kube-system:${sa}`).out;
    const baseline = rules('netloom-test-nobody');
    expect(baseline).toMatch(/selfsubjectaccessreviews/);
    expect(rules('netloom-agent')).toBe(baseline);
    expect(rules('netloom-stn')).toBe(baseline);
    // Columns are padded to the widest entry of each listing: compare rows with single spaces.
    const rows = (text: string): string[] => text.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    const extra = (sa: string): string[] => {
      const base = new Set(rows(baseline));
      return rows(rules(sa)).filter((l) => !base.has(l));
    };
    expect(extra('netloom-ksr').sort()).toEqual(
      [
        'endpointslices.discovery.k8s.io [] [] [list watch]',
        'events [] [] [create]',
        'namespaces [] [] [list watch]',
        'network-attachment-definitions.k8s.cni.cncf.io [] [] [list watch patch]',
        'networkpolicies.networking.k8s.io [] [] [list watch]',
        'nodes [] [] [list watch]',
        'pods [] [] [list watch patch]',
        'services [] [] [list watch]',
        'services/status [] [] [patch]',
      ].sort(),
    );
    expect(extra('netloom-certs').sort()).toEqual(
      [
        'secrets [] [] [create]',
        ...['admin', 'agent', 'ca', 'ksr', 'server'].map(
          (h) => `secrets [] [netloom-etcd-${h}] [get update]`,
        ),
      ].sort(),
    );
  });

  it("fill the Secrets with the certificate Job's command and account; a second run changes nothing", async () => {
    const token = k('create', 'token', 'netloom-certs', '-n', 'kube-system');
    expect(token.status, token.out).toBe(0);
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: kube.url, skipTLSVerify: true }],
      users: [{ name: 'certs', token: token.out.trim() }],
      contexts: [{ name: 'c', cluster: 'c', user: 'certs' }],
      currentContext: 'c',
    });
    const objects = render('linux');
    const job = netloomConfigs(objects, `ghcr.io/netloom/netloom:${version}`).find(
      (p) => p.workload === 'Job/netloom-certs',
    );
    const config = certsSecretsConfigSchema.parse(job!.config);
    const names = holders('netloom-etcd', '/x', ['ksr', 'agent', 'admin']).map((h) => h.name);
    expect(await syncSecrets(kc, config)).toEqual(Object.fromEntries(names.map((n) => [n, 'created'])));
    expect(await syncSecrets(kc, config)).toEqual(Object.fromEntries(names.map((n) => [n, 'unchanged'])));

    const server = JSON.parse(
      k('get', 'secret', 'netloom-etcd-server', '-n', 'kube-system', '-o', 'json').out,
    ) as {
      data: Record<string, string>;
    };
    const cert = new X509Certificate(Buffer.from(server.data['server.crt']!, 'base64'));
    const etcdIp = objects.find((o) => o.kind === 'ConfigMap')?.data?.['etcd-ip'];
    expect(cert.subjectAltName?.split(', ').sort()).toEqual(
      [
        `IP Address:${etcdIp}`,
        'IP Address:127.0.0.1',
        'DNS:netloom-etcd.kube-system.svc',
        'DNS:netloom-etcd.kube-system.svc.cluster.local',
        'DNS:localhost',
      ].sort(),
    );
    const ca = new X509Certificate(Buffer.from(server.data['ca.crt']!, 'base64'));
    expect(cert.verify(ca.publicKey)).toBe(true);
    // The account reads its own Secrets and no other, even in its own namespace.
    const asCerts = (name: string): { status: number; out: string } =>
      k('get', 'secret', name, '-n', 'kube-system', `--token=${token.out.trim()}`);
    expect(asCerts('netloom-etcd-server').status).toBe(0);
    expect(
      k('create', 'secret', 'generic', 'unrelated', '-n', 'kube-system', '--from-literal=a=b').status,
    ).toBe(0);
    const other = asCerts('unrelated');
    expect(other.status).toBe(1);
    expect(other.out).toMatch(/Forbidden/);
  });

  it('bring up etcd from the rendered command and Secrets; KSR and the agent reach it as configured', async () => {
    const etcdFound = findEtcd();
    if (!etcdFound.ok) throw new Error(etcdFound.reason);
    // This machine is not 192.0.2.10: the same objects with etcd-ip 127.0.0.2 (a loopback address
    // besides the 127.0.0.1 etcd also listens on), as an operator changing netloom.env would.
    const objects = render('linux');
    const cm = objects.find((o) => o.kind === 'ConfigMap')!;
    cm.data = { ...cm.data, 'etcd-ip': '127.0.0.2' };
    const image = `ghcr.io/netloom/netloom:${version}`;
    const parsed = netloomConfigs(objects, image);
    const job = parsed.find((p) => p.workload === 'Job/netloom-certs')!;
    const admin = new KubeConfig();
    admin.loadFromFile(kube.kubeconfigPath);
    const outcome = await syncSecrets(admin, certsSecretsConfigSchema.parse(job.config));
    expect(outcome).toEqual({
      'netloom-etcd-ca': 'unchanged',
      'netloom-etcd-server': 'updated',
      'netloom-etcd-ksr': 'unchanged',
      'netloom-etcd-agent': 'unchanged',
      'netloom-etcd-admin': 'unchanged',
    });

    // What the kubelet would do: each Secret's files in a directory, the etcd command expanded;
    // host paths and the fixed ports moved to this test's own.
    const base = mkdtempSync(join(tmpdir(), 'netloom-deploy-etcd-'));
    const ports = new Map([12379, 12380, 12381].map((p) => [`:${p}`, 0]));
    for (const k of ports.keys()) ports.set(k, await freePort());
    const move = (s: string): string =>
      [...ports]
        .reduce((acc, [from, to]) => acc.replaceAll(from, `:${to}`), s)
        .replaceAll('/var/lib/netloom-etcd', join(base, 'data'))
        .replace(/\/etc\/netloom\/etcd-pki\/(\w+)\.(crt|key)$/, (_, f: string, ext: string) =>
          join(base, secretFor(f), `${f}.${ext}`),
        );
    const secretFor = (file: string): string => (file === 'ca' || file === 'server' ? 'server' : file);
    for (const holder of ['server', 'ksr', 'agent']) {
      const secret = JSON.parse(
        k('get', 'secret', `netloom-etcd-${holder}`, '-n', 'kube-system', '-o', 'json').out,
      ) as { data: Record<string, string> };
      mkdirSync(join(base, holder), { recursive: true });
      for (const [file, b64] of Object.entries(secret.data))
        writeFileSync(join(base, holder, file), Buffer.from(b64, 'base64'), { mode: 0o600 });
    }
    const etcdPod = workloads(objects).find(({ o }) => o.metadata.name === 'netloom-etcd')!.pod;
    const c = etcdPod.containers[0]!;
    const env = resolveEnv(c, objects);
    const args = (c.command ?? []).slice(1).map((a) => move(expand(a, env)));
    const proc = new TestProcess({
      name: 'netloom-etcd',
      command: etcdFound.path,
      args,
      logFile: join(base, 'etcd.log'),
    });
    const stores: Store[] = [];
    try {
      proc.start();
      for (const command of ['ksr', 'agent']) {
        const p = parsed.find((x) => x.command === command)!;
        const config = {
          etcdEndpoints: (p.config['etcdEndpoints'] as string[]).map(move),
          etcdCa: join(base, command, 'ca.crt'),
          etcdCert: move(p.config['etcdCert'] as string),
          etcdKey: move(p.config['etcdKey'] as string),
        };
        expect(config.etcdEndpoints[0]).toMatch(/^https:\/\/127\.0\.0\.2:\d+$/);
        expect(config.etcdCert).toBe(join(base, command, `${command}.crt`));
        const store = new Store(etcdClientOf(config));
        stores.push(store);
        await proc.waitUntil(
          () =>
            store.put(`deploy-test/${command}`, 'ok').then(
              () => true,
              () => false,
            ),
          30_000,
          `${command} writes`,
        );
        expect((await store.get(`deploy-test/${command}`))?.value).toBe('ok');
      }
      // No client certificate, no access (the CA alone does not do).
      const anonymous = new Store(
        etcdClientOf({
          etcdEndpoints: [`https://127.0.0.2:${ports.get(':12379')}`],
          etcdCa: join(base, 'ksr', 'ca.crt'),
        }),
      );
      stores.push(anonymous);
      const refused = await Promise.race([
        anonymous.get('deploy-test/ksr').then(
          () => 'answered',
          (err: unknown) => errorMessage(err),
        ),
        new Promise<string>((resolve) => setTimeout(() => resolve('no answer in 10 s'), 10_000)),
      ]);
      process.stdout.write(`etcd to a client without a certificate: ${refused}\n`);
      expect(refused).toMatch(/certificate required/);
    } finally {
      for (const st of stores) st.close();
      await proc.stop();
      rmSync(base, { recursive: true, force: true });
    }
  });
});
