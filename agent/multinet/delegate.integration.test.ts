// Delegation with the real reference plugins (Debian's containernetworking-plugins) in network
// namespaces this suite makes: a "node" namespace the plugins run in (runIn: macvlan looks its
// master up where it runs, bridge and ptp make their host side there) with a veth as the
// master (the dummy and ipvlan modules may be missing from the kernel), and a namespace per pod. What is checked is read back from the kernel, not from the results.
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOf, netnsAvailable, skipUnless, type Availability } from '../../test/harness/availability.ts';
import { Lab } from '../../test/lab/netns.ts';
import { delegateAdd, delegateCheck, delegateDel, type DelegateRequest } from './delegate.ts';
import {
  DelegateConfigError,
  DelegateError,
  NotHonouredError,
  PluginError,
  PluginNotFoundError,
  RollbackFailedError,
} from './errors.ts';

const PLUGIN_DIR = '/usr/lib/cni';
const PLUGINS = ['macvlan', 'ptp', 'bridge', 'tuning', 'static', 'host-local'];

function pluginsAvailable(): Availability {
  const missing = PLUGINS.filter((p) => {
    try {
      accessSync(join(PLUGIN_DIR, p), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  return missing.length === 0
    ? { ok: true, detail: `reference plugins in ${PLUGIN_DIR}` }
    : {
        ok: false,
        component: 'cni-plugins',
        reason: `no ${missing.join(', ')} in ${PLUGIN_DIR}: apt-get install containernetworking-plugins`,
      };
}

const skip = skipUnless(
  'multinet delegation with the reference CNI plugins',
  allOf(netnsAvailable(), pluginsAvailable()),
);

interface Link {
  ifname: string;
  address: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

describe.skipIf(skip)('delegating to the reference plugins', () => {
  const lab = new Lab();
  const dataDir = mkdtempSync(join(tmpdir(), 'netloom-multinet-hostlocal-'));
  let node = '';
  let seq = 0;

  beforeAll(async () => {
    node = await lab.netns('node');
    // The master the macvlan attachments hang off, in the node's namespace.
    await lab.ip(node, ['link', 'add', 'dm0', 'type', 'veth', 'peer', 'name', 'dm0p']);
    await lab.ip(node, ['link', 'set', 'dm0', 'up']);
    await lab.ip(node, ['link', 'set', 'dm0p', 'up']);
  });

  afterAll(async () => {
    await lab.destroy();
    rmSync(dataDir, { recursive: true, force: true });
    expect(lab.leftovers()).toEqual([]);
  });

  /** A new pod namespace and a request for it (unique container ID). */
  async function pod(config: object, over: Partial<DelegateRequest> = {}): Promise<DelegateRequest> {
    const n = ++seq;
    const ns = await lab.netns(`pod${n}`);
    return {
      config: JSON.stringify(config),
      network: { namespace: 'nets', name: 'extra' },
      pod: { namespace: 'default', name: `pod-${n}`, uid: `uid-${n}` },
      containerId: `ctr${lab.prefix}${n}`,
      netns: `/run/netns/${ns}`,
      ifname: 'net1',
      binDirs: [PLUGIN_DIR],
      runIn: node,
      timeoutMs: 20_000,
      ...over,
    };
  }

  /** The pod's interface as the kernel has it, or undefined when it is not there. */
  async function link(req: DelegateRequest, ifname = req.ifname): Promise<Link | undefined> {
    const out = await lab
      .exec(req.netns, 'ip', ['-json', 'addr', 'show', 'dev', ifname])
      .catch(() => undefined);
    return out === undefined ? undefined : (JSON.parse(out) as Link[])[0];
  }

  const addresses = (l: Link | undefined): string[] =>
    (l?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);

  const macvlan = {
    cniVersion: '1.0.0',
    type: 'macvlan',
    master: 'dm0',
    mode: 'bridge',
    capabilities: { ips: true, mac: true },
    ipam: { type: 'static' },
  };

  it('macvlan + static: the requested address and MAC, verified; CHECK; DEL twice', async () => {
    const req = await pod(macvlan, { selection: { ips: ['10.66.0.5/24'], mac: '02:66:00:00:00:05' } });
    const res = await delegateAdd(req);
    expect(res.attachment).toEqual({ interface: 'net1', ips: ['10.66.0.5'], mac: '02:66:00:00:00:05' });
    const l = await link(req);
    expect(l?.address).toBe('02:66:00:00:00:05');
    expect(addresses(l)).toEqual(['10.66.0.5/24']);

    await delegateCheck({ ...req, prevResult: res.result });

    await delegateDel({ ...req, prevResult: res.result });
    expect(await link(req)).toBeUndefined();
    // Gone already: DEL succeeds again, with and without the stored result and the netns.
    await delegateDel({ ...req, prevResult: res.result });
    await delegateDel({ ...req, netns: '' });
  });

  it('CHECK fails, typed, once the interface is gone behind the plugin’s back', async () => {
    const req = await pod(macvlan, { selection: { ips: ['10.66.0.6/24'] } });
    const res = await delegateAdd(req);
    await lab.exec(req.netns, 'ip', ['link', 'del', 'net1']);
    const err = await delegateCheck({ ...req, prevResult: res.result }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).plugin).toBe('macvlan');
    expect((err as PluginError).message).toContain('net1');
    await delegateDel({ ...req, prevResult: res.result });
  });

  it('the plugin’s own error when its master does not exist where it runs', async () => {
    // Run from the test's own namespace instead of the node's: there is no dm0 here. macvlan's
    // DEL checks its master too, so the rollback fails as well: both are reported, the ADD's
    // code and message first.
    const req = await pod(macvlan, { runIn: undefined, selection: { ips: ['10.66.0.7/24'] } });
    const err = await delegateAdd(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RollbackFailedError);
    const { addError, rollbackError } = err as RollbackFailedError;
    expect(addError).toBeInstanceOf(PluginError);
    expect(addError).toMatchObject({ plugin: 'macvlan', command: 'ADD' });
    // macvlan 1.1.1 says "Link not found": its own words, passed through.
    expect((addError as PluginError).pluginMessage).toMatch(/not found/i);
    expect(rollbackError).toMatchObject({ plugin: 'macvlan', command: 'DEL' });
    expect((err as RollbackFailedError).code).toBe(addError.code);
    expect(await link(req)).toBeUndefined();
  });

  it('bridge + host-local, chained with tuning: requested IP and MAC through capabilities; CHECK; DEL twice', async () => {
    const config = {
      cniVersion: '1.0.0',
      name: 'br-net',
      plugins: [
        {
          type: 'bridge',
          bridge: 'nlbr0',
          isGateway: true,
          capabilities: { ips: true },
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.77.0.0/24' }]], dataDir },
        },
        { type: 'tuning', capabilities: { mac: true } },
      ],
    };
    const req = await pod(config, { selection: { ips: ['10.77.0.50/24'], mac: '02:77:00:00:00:50' } });
    const res = await delegateAdd(req);
    expect(res.attachment).toEqual({ interface: 'net1', ips: ['10.77.0.50'], mac: '02:77:00:00:00:50' });
    const l = await link(req);
    expect(l?.address).toBe('02:77:00:00:00:50');
    expect(addresses(l)).toEqual(['10.77.0.50/24']);
    // The bridge and its gateway address were made in the node's namespace, where it ran.
    const br = JSON.parse(await lab.ip(node, ['-json', 'addr', 'show', 'dev', 'nlbr0'])) as Link[];
    expect(addresses(br[0])).toEqual(['10.77.0.1/24']);
    expect(readdirSync(join(dataDir, 'br-net'))).toContain('10.77.0.50');

    await delegateCheck({ ...req, prevResult: res.result });

    await delegateDel({ ...req, prevResult: res.result });
    expect(await link(req)).toBeUndefined();
    expect(existsSync(join(dataDir, 'br-net', '10.77.0.50'))).toBe(false);
    await delegateDel({ ...req, prevResult: res.result });
  });

  it('a MAC the plugin ignores (ptp) is refused and the attachment deleted again', async () => {
    // ptp makes its veth with a random MAC whatever it is asked (and its own failed ADD would
    // leave the pod side behind: only the DEL cleans up).
    const ptp = {
      cniVersion: '1.0.0',
      type: 'ptp',
      capabilities: { ips: true, mac: true },
      ipam: { type: 'static', addresses: [{ address: '10.88.0.5/24', gateway: '10.88.0.1' }] },
    };
    const req = await pod(ptp, { selection: { mac: '02:88:00:00:00:05' } });
    const hostLinks = async (): Promise<string[]> =>
      (JSON.parse(await lab.ip(node, ['-json', 'link', 'show', 'type', 'veth'])) as Link[]).map(
        (l) => l.ifname,
      );
    const before = await hostLinks();
    const err = await delegateAdd(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotHonouredError);
    expect(err).toMatchObject({ field: 'mac', requested: ['02:88:00:00:00:05'], rolledBack: true, code: 2 });
    const got = (err as NotHonouredError).got;
    expect(got).toHaveLength(1);
    expect(got[0]).not.toBe('02:88:00:00:00:05');
    // Both ends are gone: the pod's interface and the node's veth.
    expect(await link(req)).toBeUndefined();
    expect(await hostLinks()).toEqual(before);
    // Without the MAC request the same attachment is fine.
    const ok = await delegateAdd({ ...req, selection: {} });
    expect(addresses(await link(req))).toEqual(['10.88.0.5/24']);
    expect(ok.attachment.mac).toBe((await link(req))?.address);
    await delegateDel({ ...req, prevResult: ok.result });
    expect(await link(req)).toBeUndefined();
  });

  it('a plugin that does not exist is a typed error', async () => {
    const req = await pod({ cniVersion: '1.0.0', type: 'nosuchplugin' });
    const err = await delegateAdd(req).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginNotFoundError);
    expect((err as PluginNotFoundError).code).toBe(7);
    expect((err as PluginNotFoundError).message).toContain(PLUGIN_DIR);
  });

  it('a hostile type never runs anything', async () => {
    // A script outside the plugin directory that would leave a mark if it ran.
    const dir = mkdtempSync(join(tmpdir(), 'netloom-multinet-evil-'));
    try {
      const mark = join(dir, 'ran');
      writeFileSync(join(dir, 'evil'), `#!/bin/sh\ntouch ${mark}\necho '{"cniVersion":"1.0.0"}'\n`, {
        mode: 0o755,
      });
      for (const type of [`../../..${dir}/evil`, `${dir}/evil`, '..', 'evil\nx']) {
        const req = await pod({ cniVersion: '1.0.0', type });
        const err = await delegateAdd(req).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DelegateConfigError);
        expect((err as DelegateError).code).toBe(7);
      }
      expect(existsSync(mark)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
