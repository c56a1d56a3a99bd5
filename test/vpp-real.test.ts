// The vpp driver against a real VPP (issue 18), where test/tools/build-vpp.sh built one or VPP is
// installed; skipped loudly elsewhere (CI keeps the fake VPP). What it shows:
// - the CRC report: the carried v25.10 definitions against this VPP (every driver message
//   present at our CRC; a message at another CRC refused before anything is sent), and the
//   definitions regenerated from this VPP's build with no difference at all;
// - the node's items (gateway and overlay loopbacks, VXLAN tunnels, routes through them,
//   source NAT) committed without an error, and a resync by a new agent right after that makes
//   zero changes: retrieve tells VPP's own FIB entries (its adjacency routes for the tunnels'
//   static neighbours, connected and special routes) from netloom's;
// - VPP killed and started empty: the client reconnects, a resync puts everything back, and
//   the next resync makes zero changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logging.ts';
import { KvScheduler } from '../agent/scheduler/scheduler.ts';
import { loadApiDirectory, type ApiDefinitions } from '../agent/dataplane/vpp/api/definitions.ts';
import { VppUnsupportedMessageError } from '../agent/dataplane/vpp/api/errors.ts';
import { VppClient } from '../agent/dataplane/vpp/api/client.ts';
import { DRIVER_MESSAGES, missingMessages, vppDriverWith } from '../agent/dataplane/vpp/driver.ts';
import { loadV25Definitions } from '../agent/dataplane/vpp/testing/definitions.ts';
import { node1 } from '../agent/dataplane/vpp/testing/items.ts';
import { allOf, netnsAvailable, skipUnless, vppAvailable } from './harness/availability.ts';
import {
  startRealVppNode,
  startUnderlay,
  vppBuild,
  type RealVppNode,
  type Underlay,
} from './vpp-real-support.ts';

const skip = skipUnless('vpp driver against a real VPP', allOf(netnsAvailable(), vppAvailable()));

describe.skipIf(skip)('vpp driver against a real VPP', () => {
  let node: RealVppNode;
  let underlay: Underlay;
  let v25: ApiDefinitions;
  let own: ApiDefinitions;

  beforeAll(async () => {
    v25 = await loadV25Definitions();
    own = await loadApiDirectory(vppBuild().apiDir);
    underlay = await startUnderlay();
    node = await startRealVppNode({ definitions: v25, address: '192.168.0.1', underlay });
  }, 60_000);
  afterAll(async () => {
    await node?.close();
    await underlay?.close();
  });

  it('reports the CRCs: every driver message present, a different CRC refused before sending', async () => {
    const status = node.client.connection;
    expect(status?.type).toBe('connected');
    const mismatched = status?.mismatched ?? [];
    process.stderr.write(
      `vpp-real: ${vppBuild().version}: ${status?.messages ?? 0} messages; ` +
        `v25.10 definitions at another CRC: ${mismatched.length ? mismatched.join(', ') : 'none'}\n`,
    );
    expect(missingMessages(node.client)).toEqual([]);
    expect(DRIVER_MESSAGES.every((m) => node.client.supports(m))).toBe(true);
    // A message VPP has at another CRC is refused by name, with VPP's CRC, and nothing is sent.
    const request = mismatched
      .map((nameCrc) => nameCrc.replace(/_[0-9a-f]{8}$/, ''))
      .find(
        (name) =>
          v25.messages.get(name) !== undefined && !name.endsWith('_details') && !name.endsWith('_reply'),
      );
    if (request !== undefined) {
      const err = await node.client.request(request, {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VppUnsupportedMessageError);
      expect(String((err as Error).message)).toContain(request);
    }
    // The definitions generated from this VPP's own sources: nothing differs.
    const fresh = await VppClient.connect({
      socketPath: node.vpp.paths.apiSocket,
      definitions: own,
      logger: silentLogger(),
      liveness: false,
    });
    try {
      expect(fresh.connection?.mismatched).toEqual([]);
      expect(missingMessages(fresh)).toEqual([]);
    } finally {
      await fresh.close();
    }
  });

  it("commits the node's items, and a new agent's resync right after makes zero changes", async () => {
    const items = node1();
    const first = new KvScheduler({
      driver: vppDriverWith(node.client, { uplink: node.uplink }),
      logger: silentLogger(),
      retry: { auto: false },
    });
    const rec = await first.resync({ desired: items });
    expect(rec.errors).toEqual([]);
    const fib = await node.vpp.vppctl('show', 'ip', 'fib', 'table', '0');
    expect(fib).toContain('10.1.2.0/24');
    expect(fib).toContain('169.254.128.2/32');
    const again = new KvScheduler({
      driver: vppDriverWith(node.client, { uplink: node.uplink }),
      logger: silentLogger(),
      retry: { auto: false },
    });
    const second = await again.resync({ desired: items });
    expect(second.errors).toEqual([]);
    expect(second.counts).toEqual({ create: 0, update: 0, delete: 0 });
    expect(await node.vpp.vppctl('show', 'ip', 'fib', 'table', '0')).toContain('169.254.128.2/32');
  });

  it('VPP killed and started empty: reconnects, a resync restores everything, the next makes no change', async () => {
    const items = node1();
    const scheduler = new KvScheduler({
      driver: vppDriverWith(node.client, { uplink: node.uplink }),
      logger: silentLogger(),
      retry: { auto: false },
    });
    await scheduler.resync({ desired: items });
    await node.restartVpp();
    expect(await node.vpp.vppctl('show', 'interface')).not.toContain('vxlan_tunnel');
    const restored = await scheduler.resync({ desired: items });
    expect(restored.errors).toEqual([]);
    expect(restored.counts.create).toBe(items.length);
    const interfaces = await node.vpp.vppctl('show', 'interface');
    expect(interfaces).toContain('vxlan_tunnel0');
    expect(interfaces).toContain('loop0');
    const quiet = await scheduler.resync({ desired: items });
    expect(quiet.errors).toEqual([]);
    expect(quiet.counts).toEqual({ create: 0, update: 0, delete: 0 });
  }, 60_000);
});
