// Every reflected kind, through a real kube-apiserver and a real etcd, with `netloom ksr`
// running as a child process: create, update and delete each kind and read the exact JSON at
// the exact key; odd objects (huge label sets, unicode, selector-less and headless services,
// named target ports, ipBlock except lists, endPort); the NetworkAttachmentDefinition CRD
// absent at start and installed later; /readyz only after the first full sync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  NetworkingV1Api,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import type { Store } from '../lib/etcd/store.ts';
import { Keyspace, type KeyRef } from '../lib/keyspace.ts';
import { kubeApiserverAvailable, skipUnless } from './harness/availability.ts';
import type { KubeApiserverHandle } from './harness/kube-apiserver.ts';
import {
  eventually,
  installNadCrd,
  randomSuffix,
  waitConverged,
  type KsrProcess,
  startKsrWorld,
  type KsrWorld,
} from './ksr-support.ts';

const skip = skipUnless('KSR reflection (kube-apiserver + etcd)', kubeApiserverAvailable());

describe.skipIf(skip)('netloom ksr reflects every kind exactly', () => {
  let world: KsrWorld;
  let kube: KubeApiserverHandle;
  let store: Store;
  let ksr: KsrProcess;
  let core: CoreV1Api;
  const cluster = `nl${randomSuffix()}`;
  const ks = new Keyspace(cluster);
  const ns = `nl-${randomSuffix()}`;

  const value = async (ref: KeyRef): Promise<string | undefined> => (await store.get(ks.key(ref)))?.value;
  /** Waits until the key holds exactly `want` (undefined: until it is gone). */
  const expectKey = async (ref: KeyRef, want: string | undefined): Promise<void> => {
    let last: string | undefined;
    await eventually(
      async () => {
        last = await value(ref);
        return last === want;
      },
      10_000,
      `${ks.key(ref)} = ${want}`,
    ).catch(() => expect(last).toBe(want));
  };

  beforeAll(async () => {
    world = await startKsrWorld({ cluster, namespace: ns });
    ({ kube, store, core } = world);
    ksr = await world.startKsr('reflect', ['--crd-poll-ms', '300']);
  });
  afterAll(async () => {
    await world?.destroy();
  });

  it('is ready only after its first full sync, and then mirrors everything', async () => {
    await eventually(async () => (await ksr.readyz()) === 200, 30_000, 'readyz 200');
    const msgs = ksr.logs().map((l) => l['msg']);
    expect(msgs, msgs.join(' | ')).toContain('full sync done');
    await waitConverged(kube.kubeConfig(), store, ks);
    const status = await eventually(
      async () => {
        const s = JSON.parse((await value({ kind: 'ksrStatus' })) ?? '{}') as {
          lastFullSyncRevision?: string;
        };
        return s.lastFullSyncRevision ? s : undefined;
      },
      5_000,
      'status with a full sync',
    );
    expect(status).toMatchObject({
      leader: 'reflect',
      counts: expect.objectContaining({ namespace: expect.any(Number) }),
      lastFullSync: expect.any(String),
      heartbeat: expect.any(String),
    });
    expect(Number(status.lastFullSyncRevision)).toBeGreaterThan(0);
  });

  it('namespace: create, update, delete', async () => {
    const name = `nl-ns-${randomSuffix()}`;
    const ref: KeyRef = { kind: 'namespace', name };
    await core.createNamespace({
      body: {
        metadata: {
          name,
          labels: { team: 'a' },
          annotations: { 'opencontrail.org/isolation': 'true', 'other.io/x': 'y' },
        },
      },
    });
    await expectKey(
      ref,
      `{"name":"${name}","labels":{"kubernetes.io/metadata.name":"${name}","team":"a"},"annotations":{"opencontrail.org/isolation":"true"}}`,
    );
    const obj = await core.readNamespace({ name });
    obj.metadata!.labels = { ...obj.metadata!.labels, env: 'prod' };
    obj.metadata!.annotations = { 'opencontrail.org/network': 'blue' };
    await core.replaceNamespace({ name, body: obj });
    await expectKey(
      ref,
      `{"name":"${name}","labels":{"env":"prod","kubernetes.io/metadata.name":"${name}","team":"a"},"annotations":{"opencontrail.org/network":"blue"}}`,
    );
    await core.deleteNamespace({ name });
    // No namespace controller here: finish the deletion by hand, as it would.
    const terminating = await core.readNamespace({ name });
    terminating.spec = { finalizers: [] };
    await core.replaceNamespaceFinalize({ name, body: terminating });
    await expectKey(ref, undefined);
  });

  it('node: create, status update, cordon, delete', async () => {
    const name = `nl-node-${randomSuffix()}`;
    const ref: KeyRef = { kind: 'node', name };
    await core.createNode({
      body: {
        metadata: { name, labels: { 'kubernetes.io/hostname': name } },
        spec: { podCIDR: '10.1.7.0/24', podCIDRs: ['10.1.7.0/24'] },
      },
    });
    await expectKey(
      ref,
      `{"name":"${name}","labels":{"kubernetes.io/hostname":"${name}"},"podCidrs":["10.1.7.0/24"]}`,
    );
    const node = await core.readNode({ name });
    node.status = {
      addresses: [
        { type: 'InternalIP', address: '192.168.50.7' },
        { type: 'Hostname', address: name },
      ],
    };
    await core.replaceNodeStatus({ name, body: node });
    const cordoned = await core.readNode({ name });
    cordoned.spec!.unschedulable = true;
    await core.replaceNode({ name, body: cordoned });
    await expectKey(
      ref,
      `{"name":"${name}","labels":{"kubernetes.io/hostname":"${name}"},"addresses":[{"type":"InternalIP","address":"192.168.50.7"},{"type":"Hostname","address":"${name}"}],"podCidrs":["10.1.7.0/24"],"unschedulable":true}`,
    );
    await core.deleteNode({ name });
    await expectKey(ref, undefined);
  });

  it('pod: create, status with IPs, terminating, delete', async () => {
    const name = 'web-0';
    const ref: KeyRef = { kind: 'pod', namespace: ns, name };
    const body: V1Pod = {
      metadata: {
        name,
        labels: { app: 'web' },
        annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan-conf', 'unrelated/x': '1' },
      },
      spec: {
        nodeName: 'worker-1',
        containers: [
          {
            name: 'app',
            image: 'registry.invalid/app',
            ports: [
              { name: 'http', containerPort: 8080 },
              { containerPort: 9090, protocol: 'UDP' },
            ],
          },
        ],
      },
    };
    const created = await core.createNamespacedPod({ namespace: ns, body });
    const uid = created.metadata!.uid!;
    const base = `{"namespace":"${ns}","name":"${name}","uid":"${uid}","labels":{"app":"web"},"annotations":{"k8s.v1.cni.cncf.io/networks":"macvlan-conf"},"nodeName":"worker-1"`;
    const ports = `"containerPorts":[{"name":"http","containerPort":8080,"protocol":"TCP"},{"containerPort":9090,"protocol":"UDP"}]`;
    await expectKey(ref, `${base},"phase":"Pending",${ports}}`);
    const pod = await core.readNamespacedPod({ name, namespace: ns });
    pod.status = { phase: 'Running', podIP: '10.1.1.5', podIPs: [{ ip: '10.1.1.5' }, { ip: 'fd00:1::5' }] };
    await core.replaceNamespacedPodStatus({ name, namespace: ns, body: pod });
    await expectKey(ref, `${base},"podIps":["10.1.1.5","fd00:1::5"],"phase":"Running",${ports}}`);
    // Graceful delete of a scheduled pod without a kubelet: it stays, terminating.
    await core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 30 });
    await expectKey(
      ref,
      `${base},"podIps":["10.1.1.5","fd00:1::5"],"phase":"Running",${ports},"terminating":true}`,
    );
    await core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 0 });
    await expectKey(ref, undefined);
  });

  it('service: ClusterIP with a named target port, headless, without selector, NodePort/LoadBalancer, ExternalName', async () => {
    const make = async (body: V1Service): Promise<V1Service> =>
      core.createNamespacedService({ namespace: ns, body });
    const web = await make({
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    const ip = web.spec!.clusterIP!;
    await expectKey(
      { kind: 'service', namespace: ns, name: 'web' },
      `{"namespace":"${ns}","name":"web","type":"ClusterIP","clusterIps":["${ip}"],"selector":{"app":"web"},"hasSelector":true,"ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":{"name":"http"}}],"sessionAffinity":"None","internalTrafficPolicy":"Cluster"}`,
    );
    await make({
      metadata: { name: 'db' },
      spec: {
        clusterIP: 'None',
        selector: { app: 'db' },
        ports: [{ port: 5432 }],
        publishNotReadyAddresses: true,
      },
    });
    await expectKey(
      { kind: 'service', namespace: ns, name: 'db' },
      `{"namespace":"${ns}","name":"db","type":"ClusterIP","clusterIps":["None"],"selector":{"app":"db"},"hasSelector":true,"ports":[{"protocol":"TCP","port":5432,"targetPort":{"number":5432}}],"sessionAffinity":"None","internalTrafficPolicy":"Cluster","publishNotReadyAddresses":true}`,
    );
    const ext = await make({
      metadata: { name: 'external' },
      spec: { ports: [{ port: 443, targetPort: 8443 }] },
    });
    await expectKey(
      { kind: 'service', namespace: ns, name: 'external' },
      `{"namespace":"${ns}","name":"external","type":"ClusterIP","clusterIps":["${ext.spec!.clusterIP}"],"ports":[{"protocol":"TCP","port":443,"targetPort":{"number":8443}}],"sessionAffinity":"None","internalTrafficPolicy":"Cluster"}`,
    );
    const lb = await make({
      metadata: { name: 'lb', annotations: { 'netloom.io/pool': 'public' } },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'web' },
        externalTrafficPolicy: 'Local',
        sessionAffinity: 'ClientIP',
        ports: [{ name: 'https', port: 443, targetPort: 8443, appProtocol: 'https' }],
      },
    });
    const np = lb.spec!.ports![0]!.nodePort!;
    const hc = lb.spec!.healthCheckNodePort!;
    await expectKey(
      { kind: 'service', namespace: ns, name: 'lb' },
      `{"namespace":"${ns}","name":"lb","annotations":{"netloom.io/pool":"public"},"type":"LoadBalancer","clusterIps":["${lb.spec!.clusterIP}"],"selector":{"app":"web"},"hasSelector":true,` +
        `"ports":[{"name":"https","protocol":"TCP","port":443,"targetPort":{"number":8443},"nodePort":${np},"appProtocol":"https"}],"sessionAffinity":"ClientIP","sessionAffinityTimeoutSeconds":10800,` +
        `"externalTrafficPolicy":"Local","internalTrafficPolicy":"Cluster","healthCheckNodePort":${hc}}`,
    );
    // The load balancer IP lands in status (KSR's allocator writes it; here, by hand).
    const withIp = await core.readNamespacedService({ name: 'lb', namespace: ns });
    withIp.status = { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } };
    await core.replaceNamespacedServiceStatus({ name: 'lb', namespace: ns, body: withIp });
    await eventually(
      async () =>
        JSON.parse((await value({ kind: 'service', namespace: ns, name: 'lb' })) ?? '{}')
          .loadBalancerIps?.[0] === '203.0.113.10',
      10_000,
      'LB IP',
    );
    await make({
      metadata: { name: 'extname' },
      spec: { type: 'ExternalName', externalName: 'db.example.com' },
    });
    await expectKey(
      { kind: 'service', namespace: ns, name: 'extname' },
      `{"namespace":"${ns}","name":"extname","type":"ExternalName","sessionAffinity":"None","externalName":"db.example.com"}`,
    );
    await core.deleteNamespacedService({ name: 'web', namespace: ns });
    await expectKey({ kind: 'service', namespace: ns, name: 'web' }, undefined);
  });

  it('endpoints: slices of one service merged into one key, updated, removed with the last slice', async () => {
    const discovery = kube.kubeConfig().makeApiClient(DiscoveryV1Api);
    const ref: KeyRef = { kind: 'endpoints', namespace: ns, name: 'api' };
    const slice = (name: string, ips: string[], ready = true): object => ({
      metadata: { name, labels: { 'kubernetes.io/service-name': 'api' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: ips.map((ip, i) => ({
        addresses: [ip],
        conditions: { ready },
        nodeName: 'worker-1',
        targetRef: { kind: 'Pod', namespace: ns, name: `api-${name}-${i}` },
      })),
    });
    await discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: slice('api-a', ['10.1.1.12', '10.1.1.11']) as never,
    });
    await discovery.createNamespacedEndpointSlice({
      namespace: ns,
      body: slice('api-b', ['10.1.2.10'], false) as never,
    });
    const ep = (ip: string, pod: string, ready: boolean): string =>
      `{"addresses":["${ip}"],"nodeName":"worker-1"${ready ? ',"ready":true,"serving":true' : ''},"pod":"${ns}/${pod}"}`;
    await expectKey(
      ref,
      `{"namespace":"${ns}","service":"api","subsets":[{"ports":[{"name":"http","port":8080,"protocol":"TCP"}],"endpoints":[${ep('10.1.1.11', 'api-api-a-1', true)},${ep('10.1.1.12', 'api-api-a-0', true)},${ep('10.1.2.10', 'api-api-b-0', false)}]}]}`,
    );
    await discovery.replaceNamespacedEndpointSlice({
      name: 'api-b',
      namespace: ns,
      body: {
        ...slice('api-b', ['10.1.2.10']),
        metadata: {
          ...(await discovery.readNamespacedEndpointSlice({ name: 'api-b', namespace: ns })).metadata,
        },
      } as never,
    });
    await expectKey(
      ref,
      `{"namespace":"${ns}","service":"api","subsets":[{"ports":[{"name":"http","port":8080,"protocol":"TCP"}],"endpoints":[${ep('10.1.1.11', 'api-api-a-1', true)},${ep('10.1.1.12', 'api-api-a-0', true)},${ep('10.1.2.10', 'api-api-b-0', true)}]}]}`,
    );
    await discovery.deleteNamespacedEndpointSlice({ name: 'api-a', namespace: ns });
    await expectKey(
      ref,
      `{"namespace":"${ns}","service":"api","subsets":[{"ports":[{"name":"http","port":8080,"protocol":"TCP"}],"endpoints":[${ep('10.1.2.10', 'api-api-b-0', true)}]}]}`,
    );
    await discovery.deleteNamespacedEndpointSlice({ name: 'api-b', namespace: ns });
    await expectKey(ref, undefined);
  });

  it('policy: ipBlock except lists, endPort, named ports, selector presence; update and delete', async () => {
    const net = kube.kubeConfig().makeApiClient(NetworkingV1Api);
    const ref: KeyRef = { kind: 'policy', namespace: ns, name: 'pol' };
    await net.createNamespacedNetworkPolicy({
      namespace: ns,
      body: {
        metadata: { name: 'pol' },
        spec: {
          podSelector: { matchLabels: { app: 'web' } },
          policyTypes: ['Ingress', 'Egress'],
          ingress: [
            {
              _from: [
                { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.0.0/16'] } },
                { namespaceSelector: {} },
                { podSelector: { matchExpressions: [{ key: 'role', operator: 'In', values: ['client'] }] } },
              ],
              ports: [
                { protocol: 'TCP', port: 32000, endPort: 32768 },
                { protocol: 'TCP', port: 'http' },
              ],
            },
          ],
          egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }] }],
        },
      },
    });
    await expectKey(
      ref,
      `{"namespace":"${ns}","name":"pol","podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress","Egress"],"ingress":[{"ports":[{"protocol":"TCP","port":{"number":32000},"endPort":32768},{"protocol":"TCP","port":{"name":"http"}}],` +
        `"peers":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16","10.2.0.0/16"]}},{"namespaceSelector":{}},{"podSelector":{"matchExpressions":[{"key":"role","operator":"In","values":["client"]}]}}]}],` +
        `"egress":[{"peers":[{"ipBlock":{"cidr":"0.0.0.0/0","except":["169.254.169.254/32"]}}]}]}`,
    );
    const pol = await net.readNamespacedNetworkPolicy({ name: 'pol', namespace: ns });
    pol.spec = { podSelector: {}, policyTypes: ['Ingress'] };
    await net.replaceNamespacedNetworkPolicy({ name: 'pol', namespace: ns, body: pol });
    await expectKey(ref, `{"namespace":"${ns}","name":"pol","podSelector":{},"policyTypes":["Ingress"]}`);
    await net.deleteNamespacedNetworkPolicy({ name: 'pol', namespace: ns });
    await expectKey(ref, undefined);
  });

  it('NetworkAttachmentDefinition: CRD absent at start (not fatal), installed later, then reflected', async () => {
    expect(
      ksr
        .logs()
        .some((l) => l['msg'] === 'resource not installed; waiting for it' && l['kind'] === 'netattach'),
    ).toBe(true);
    await installNadCrd(kube.kubeConfig());
    const custom = kube.kubeConfig().makeApiClient(CustomObjectsApi);
    const gvr = {
      group: 'k8s.cni.cncf.io',
      version: 'v1',
      namespace: ns,
      plural: 'network-attachment-definitions',
    };
    const config =
      '{"cniVersion":"1.0.0","type":"macvlan","master":"eth0","ipam":{"type":"host-local","subnet":"192.0.2.0/24"},"note":"ünïcødé 🚀"}';
    await custom.createNamespacedCustomObject({
      ...gvr,
      body: {
        apiVersion: 'k8s.cni.cncf.io/v1',
        kind: 'NetworkAttachmentDefinition',
        metadata: {
          name: 'macvlan-conf',
          annotations: { 'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov' },
        },
        spec: { config },
      },
    });
    const ref: KeyRef = { kind: 'netattach', namespace: ns, name: 'macvlan-conf' };
    await expectKey(
      ref,
      JSON.stringify({ namespace: ns, name: 'macvlan-conf', config, resourceName: 'intel.com/sriov' }),
    );
    const obj = (await custom.getNamespacedCustomObject({ ...gvr, name: 'macvlan-conf' })) as {
      spec: { config: string };
    };
    obj.spec.config = '{"cniVersion":"1.0.0","type":"bridge"}';
    await custom.replaceNamespacedCustomObject({ ...gvr, name: 'macvlan-conf', body: obj });
    await expectKey(
      ref,
      JSON.stringify({
        namespace: ns,
        name: 'macvlan-conf',
        config: obj.spec.config,
        resourceName: 'intel.com/sriov',
      }),
    );
    await custom.deleteNamespacedCustomObject({ ...gvr, name: 'macvlan-conf' });
    await expectKey(ref, undefined);
  });

  it('an object the converter cannot handle is logged and counted, keeps its last good value, and stops nothing', async () => {
    const custom = kube.kubeConfig().makeApiClient(CustomObjectsApi);
    const gvr = {
      group: 'k8s.cni.cncf.io',
      version: 'v1',
      namespace: ns,
      plural: 'network-attachment-definitions',
    };
    const ref: KeyRef = { kind: 'netattach', namespace: ns, name: 'flaky' };
    await custom.createNamespacedCustomObject({
      ...gvr,
      body: {
        apiVersion: 'k8s.cni.cncf.io/v1',
        kind: 'NetworkAttachmentDefinition',
        metadata: { name: 'flaky' },
        spec: { config: '{"type":"bridge"}' },
      },
    });
    await expectKey(ref, `{"namespace":"${ns}","name":"flaky","config":"{\\"type\\":\\"bridge\\"}"}`);
    const obj = (await custom.getNamespacedCustomObject({ ...gvr, name: 'flaky' })) as {
      spec: { config: unknown };
    };
    obj.spec.config = { type: 'bridge' }; // not a string: the converter refuses it
    await custom.replaceNamespacedCustomObject({ ...gvr, name: 'flaky', body: obj });
    await eventually(
      async () =>
        (await ksr.metric('netloom_ksr_errors_total', { kind: 'netattach', reason: 'convert' })) === 1,
      10_000,
      'convert error counted',
    );
    expect(ksr.logs().some((l) => l['msg'] === 'object not reflected' && l['object'] === `${ns}/flaky`)).toBe(
      true,
    );
    expect(await value(ref)).toBe(
      `{"namespace":"${ns}","name":"flaky","config":"{\\"type\\":\\"bridge\\"}"}`,
    );
    // KSR goes on reflecting everything else.
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'after-error' }, spec: { ports: [{ port: 1 }] } },
    });
    await eventually(
      async () => (await value({ kind: 'service', namespace: ns, name: 'after-error' })) !== undefined,
      10_000,
      'service after the error',
    );
    await custom.deleteNamespacedCustomObject({ ...gvr, name: 'flaky' });
    await expectKey(ref, undefined);
  });

  it('odd objects: a huge label set and unicode annotations are reflected faithfully', async () => {
    const labels = Object.fromEntries(
      Array.from({ length: 400 }, (_, i) => [`l${i}.example.com/k-${i}`, `v-${'x'.repeat(40)}-${i}`]),
    );
    const annotations = {
      'netloom.io/description': 'ünïcødé 🚀 日本語 \u0000 "quoted" \\ back',
      'opencontrail.org/network': '{"domain":"d","project":"p","name":"n"}',
    };
    const created = await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'odd', labels, annotations },
        spec: { containers: [{ name: 'c', image: 'i' }] },
      },
    });
    const ref: KeyRef = { kind: 'pod', namespace: ns, name: 'odd' };
    const sorted = Object.fromEntries(
      Object.keys(labels)
        .sort()
        .map((k) => [k, labels[k]!]),
    );
    const sortedAnn = Object.fromEntries(
      Object.keys(annotations)
        .sort()
        .map((k) => [k, annotations[k as keyof typeof annotations]]),
    );
    await expectKey(
      ref,
      JSON.stringify({
        namespace: ns,
        name: 'odd',
        uid: created.metadata!.uid,
        labels: sorted,
        annotations: sortedAnn,
        phase: 'Pending',
      }),
    );
  });

  it('after all that, etcd equals Kubernetes exactly and nothing else failed', async () => {
    await waitConverged(kube.kubeConfig(), store, ks);
    expect(await ksr.metric('netloom_ksr_errors_total')).toBe(1);
    expect(await ksr.metric('netloom_ksr_writes_total')).toBeGreaterThan(0);
    expect(await ksr.metric('netloom_ksr_event_to_etcd_seconds_count')).toBeGreaterThan(0);
  });
});
