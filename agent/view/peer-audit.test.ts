// The audit of peers' nodes/info: a record that disagrees with its node ID is logged once per
// change of what is wrong with it (not once per view event) and counted; putting it right, or
// its going away, clears the gauge.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Keyspace } from '../../lib/keyspace.ts';
import { createRegistry, type Registry } from '../../lib/metrics.ts';
import { PeerAudit } from './peer-audit.ts';
import { ClusterView, type ViewChange } from './view.ts';

const ks = new Keyspace('c1');

function setup(): {
  audit: PeerAudit;
  view: ClusterView;
  lines: { level: number; msg: string }[];
  registry: Registry;
} {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  const view = new ClusterView();
  const registry = createRegistry('test', { processMetrics: false });
  const audit = new PeerAudit({
    view,
    self: 'n1',
    subnetOf: (id) => (id >= 1 && id <= 255 ? `10.1.${id}.0/24` : undefined),
    logger: pino({ level: 'info' }, sink),
    registry,
  });
  return { audit, view, lines, registry };
}

const put = (v: ClusterView, key: string, value: unknown): ViewChange[] => [
  v.apply(ks.parse(ks.root + key), typeof value === 'string' ? value : JSON.stringify(value))!,
];
const del = (v: ClusterView, key: string): ViewChange[] => [v.apply(ks.parse(ks.root + key), undefined)!];

async function metric(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values[0]?.value ?? NaN;
}

const info = (over: object = {}) => ({
  name: 'n2',
  id: 2,
  tunnelEndpoint: '192.168.0.2',
  podSubnet: '10.1.2.0/24',
  ...over,
});

describe('PeerAudit', () => {
  it('logs a disagreement once per change, counts it, and clears it when the record is right again', async () => {
    const { audit, view, lines, registry } = setup();
    audit.observe(put(view, 'nodes/id/2', 'n2'));
    audit.observe(put(view, 'nodes/info/n2', info()));
    expect(lines).toEqual([]);

    audit.observe(put(view, 'nodes/info/n2', info({ podSubnet: '0.0.0.0/0' })));
    audit.observe(put(view, 'nodes/info/n2', info({ podSubnet: '0.0.0.0/0' }))); // the same again
    audit.all(); // a relist
    expect(lines.map((l) => l.msg)).toEqual([
      "peer nodes/info disagrees with its node ID; the ID's values are used instead: podSubnet is 0.0.0.0/0, ID 2 implies 10.1.2.0/24",
    ]);
    expect(lines[0]!.level).toBe(40);
    expect(await metric(registry, 'netloom_agent_peer_records_distrusted')).toBe(1);
    expect(await metric(registry, 'netloom_agent_peer_record_disagreements_total')).toBe(1);

    audit.observe(put(view, 'nodes/info/n2', info({ podSubnet: '10.1.9.0/24', id: 9 })));
    expect(lines).toHaveLength(2);
    expect(lines[1]!.msg).toMatch(/id is 9, but nodes\/id\/2 names n2; podSubnet is 10\.1\.9\.0\/24/);
    expect(await metric(registry, 'netloom_agent_peer_record_disagreements_total')).toBe(2);

    audit.observe(put(view, 'nodes/info/n2', info()));
    expect(lines[2]!.msg).toBe('peer nodes/info agrees with its node ID again');
    expect(await metric(registry, 'netloom_agent_peer_records_distrusted')).toBe(0);
    expect(audit.current().size).toBe(0);
  });

  it('reports a record no claim backs as not used; its claim appearing, or the record going, clears it', async () => {
    const { audit, view, lines, registry } = setup();
    audit.observe(put(view, 'nodes/info/ghost', info({ name: 'ghost', id: 7, podSubnet: '10.1.7.0/24' })));
    expect(lines[0]!.msg).toMatch(
      /^peer nodes\/info cannot be trusted and is not used: no single nodes\/id claim/,
    );
    expect(await metric(registry, 'netloom_agent_peer_records_distrusted')).toBe(1);
    audit.observe(put(view, 'nodes/id/7', 'ghost'));
    expect(audit.current().size).toBe(0);
    audit.observe(put(view, 'nodes/info/ghost', info({ name: 'ghost', id: 7, tunnelEndpoint: 'not-an-ip' })));
    expect(audit.current().get('ghost')).toMatch(/tunnelEndpoint "not-an-ip" is not an IP address/);
    audit.observe(del(view, 'nodes/info/ghost'));
    expect(lines.at(-1)!.msg).toBe('distrusted peer nodes/info gone');
    expect(await metric(registry, 'netloom_agent_peer_records_distrusted')).toBe(0);
  });

  it("leaves this node's own record to its identity", () => {
    const { audit, view, lines } = setup();
    audit.observe(put(view, 'nodes/info/n1', info({ name: 'n1', podSubnet: '0.0.0.0/0' })));
    expect(lines).toEqual([]);
  });

  it('a record of the wrong JSON types never reaches the view', () => {
    const { view } = setup();
    expect(() => put(view, 'nodes/info/n2', info({ id: '2' }))).toThrow(
      /nodes\/info: id is not a non-negative integer/,
    );
    expect(() => put(view, 'nodes/info/n2', info({ podSubnet: ['0.0.0.0/0'] }))).toThrow(
      /podSubnet is not a string/,
    );
    expect(() => put(view, 'nodes/info/n2', info({ id: -1 }))).toThrow(/id is not a non-negative integer/);
    expect(view.nodeInfos.get('n2')).toBeUndefined();
  });
});
