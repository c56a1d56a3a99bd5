// The harness's kube-proxy is real and stays in its namespace: in nftables mode, reaching the
// API server over the namespace's veth, it programs one selector-less Service from a
// hand-written EndpointSlice (the map element for the cluster IP, the backend's DNAT), and the
// namespace the tests run in gains no kube-proxy table.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { kubeProxyAvailable, skipUnless } from './harness/availability.ts';
import { startKubeApiserver, type KubeApiserverHandle } from './harness/kube-apiserver.ts';
import { KubeProxyNetns, startKubeProxy, type KubeProxyHandle } from './harness/kube-proxy.ts';
import { sleep } from '../lib/timing.ts';

const skip = skipUnless('kube-proxy', kubeProxyAvailable());

const hostHasKubeProxyTable = (): boolean => {
  try {
    execFileSync('nft', ['list', 'table', 'ip', 'kube-proxy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(skip)('kube-proxy (real, nftables mode, own network namespace)', () => {
  let netns: KubeProxyNetns | undefined;
  let kube: KubeApiserverHandle | undefined;
  let proxy: KubeProxyHandle | undefined;
  const hostTableBefore = skip ? false : hostHasKubeProxyTable();

  beforeAll(async () => {
    netns = await KubeProxyNetns.create();
    kube = await startKubeApiserver({ bindAddress: netns.hostIp });
  });
  afterAll(async () => {
    await proxy?.destroy();
    await kube?.destroy();
    await netns?.destroy();
  });

  it('programs a Service and its endpoint inside its namespace only', async () => {
    const kc = kube!.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    // kube-proxy waits for its Node object to learn the node's addresses before it programs.
    await core.createNode({
      body: {
        metadata: { name: 'kp-node' },
        status: { addresses: [{ type: 'InternalIP', address: netns!.nodeIp }] },
      },
    });
    const svc = await core.createNamespacedService({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    });
    const vip = svc.spec?.clusterIP ?? '';
    await discovery.createNamespacedEndpointSlice({
      namespace: 'default',
      body: {
        metadata: { name: 'web-a', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [{ addresses: ['10.1.0.5'], conditions: { ready: true } }],
      },
    });

    proxy = startKubeProxy({ netns: netns!, server: kube!.url, token: kube!.token, nodeName: 'kp-node' });
    let map = '';
    for (let i = 0; i < 300 && !map.includes(vip); i++) {
      await sleep(100);
      expect(proxy.running, `kube-proxy exited; log ${proxy.logFile}`).toBe(true);
      map = await netns!.nft(['list', 'map', 'ip', 'kube-proxy', 'service-ips']).catch(() => '');
    }
    const chain = new RegExp(
      `${vip.replaceAll('.', '\\.')} \\. tcp \\. 80 : goto (service-\\S+-default/web/tcp/http)`,
    ).exec(map)?.[1];
    expect(chain, map).toBeDefined();
    const rules = await netns!.nft(['list', 'chain', 'ip', 'kube-proxy', chain!]);
    // One endpoint is a DNAT in the service chain itself; several are endpoint chains by name.
    expect(rules).toMatch(/10\.1\.0\.5[:/]8080/);

    const healthz = await proxy.get('healthz', '/healthz');
    expect(healthz.status).toBe(200);
    expect(JSON.parse(healthz.body)).toMatchObject({ healthy: true });
    expect(proxy.version).toBe('v1.37.2');
    // The namespace the tests run in is never programmed.
    if (!hostTableBefore) expect(hostHasKubeProxyTable()).toBe(false);
  });
});
