import { describe, expect, it } from 'vitest';
import { planLb, REASONS, type LbAction } from './plan.ts';
import { LbPools, parsePools } from './pools.ts';
import type { LbService } from './service.ts';

const pools = new LbPools(parsePools('default=192.0.2.0/31;dmz=198.51.100.10-198.51.100.10'));

let clock = 0;
function svc(name: string, over: Partial<LbService> = {}): LbService {
  return {
    namespace: 'ns',
    name,
    uid: `uid-${name}`,
    created: `2026-01-01T00:00:${String(clock++).padStart(2, '0')}Z`,
    wants: true,
    pool: undefined,
    requested: undefined,
    family: undefined,
    statusIps: [],
    ...over,
  };
}

const services = (...list: LbService[]): Map<string, LbService> =>
  new Map(list.map((s) => [`${s.namespace}/${s.name}`, s]));

/** The plan in short text, one line per action. */
function show(plan: LbAction[]): string[] {
  return plan.map((a) => {
    switch (a.type) {
      case 'release':
        return `release ${a.ip} of ${a.owner}`;
      case 'claim':
        return `claim ${a.ip} for ${a.service.name} (${a.pool})`;
      case 'status':
        return `status ${a.service.name} [${a.ips.join(',')}]`;
      case 'event':
        return `${a.warning ? 'warn' : 'note'} ${a.service.name} ${a.reason}: ${a.message}`;
    }
  });
}

describe('planLb', () => {
  it('allocates the lowest free address, oldest service first, then writes status', () => {
    const a = svc('a');
    const b = svc('b');
    expect(
      show(
        planLb(
          new Map([['192.0.2.0', 'ns/x']]),
          services(b, a, svc('x', { statusIps: ['192.0.2.0'] })),
          pools,
        ),
      ),
    ).toEqual([
      'claim 192.0.2.1 for a (default)',
      'status a [192.0.2.1]',
      'note a LoadBalancerIPAllocated: assigned 192.0.2.1 from pool default',
      `warn b ${REASONS.exhausted}: pool default has no free address`,
    ]);
  });

  it('honours a requested address, and names the conflict when it cannot', () => {
    const plan = planLb(
      new Map([['192.0.2.1', 'ns/holder']]),
      services(
        svc('holder', { statusIps: ['192.0.2.1'] }),
        svc('wants-held', { requested: '192.0.2.1' }),
        svc('outside', { requested: '10.0.0.1' }),
        svc('garbage', { requested: 'x' }),
        svc('wrong-pool', { requested: '192.0.2.0', pool: 'dmz' }),
        svc('ok', { requested: '198.51.100.10' }),
      ),
      pools,
    );
    expect(show(plan)).toEqual([
      'claim 198.51.100.10 for ok (dmz)',
      'status ok [198.51.100.10]',
      'note ok LoadBalancerIPAllocated: assigned 198.51.100.10 from pool dmz',
      'warn wants-held LoadBalancerIPConflict: 192.0.2.1 is held by service ns/holder',
      'warn outside LoadBalancerIPConflict: 10.0.0.1 is in no netloom pool',
      'warn garbage LoadBalancerIPConflict: "x" is not an IP address',
      'warn wrong-pool LoadBalancerIPConflict: 192.0.2.0 is in pool default, not in pool dmz',
    ]);
  });

  it('allocates from the pool a service names, and reports an unknown pool', () => {
    expect(
      show(planLb(new Map(), services(svc('d', { pool: 'dmz' }), svc('n', { pool: 'nope' })), pools)),
    ).toEqual([
      'claim 198.51.100.10 for d (dmz)',
      'status d [198.51.100.10]',
      'note d LoadBalancerIPAllocated: assigned 198.51.100.10 from pool dmz',
      `warn n ${REASONS.noPool}: no pool named nope`,
    ]);
  });

  it('is quiet when records and statuses agree', () => {
    expect(
      planLb(new Map([['192.0.2.0', 'ns/a']]), services(svc('a', { statusIps: ['192.0.2.0'] })), pools),
    ).toEqual([]);
  });

  it('a new leader: keeps records and re-asserts status, releases orphans, adopts a lost record', () => {
    const records = new Map([
      ['192.0.2.0', 'ns/kept'], // status lost (say, the write never landed)
      ['192.0.2.1', 'ns/gone'], // service deleted while no leader ran
      ['198.51.100.10', 'ns/cluster-ip'], // type changed away from LoadBalancer
    ]);
    const plan = planLb(
      records,
      services(
        svc('kept'),
        svc('cluster-ip', { wants: false, statusIps: ['198.51.100.10'] }),
        svc('lost-record', { statusIps: ['192.0.2.1'] }),
      ),
      pools,
    );
    expect(show(plan)).toEqual([
      'status cluster-ip []',
      'release 198.51.100.10 of ns/cluster-ip',
      'release 192.0.2.1 of ns/gone',
      'claim 192.0.2.1 for lost-record (default)',
      'status kept [192.0.2.0]',
      'note lost-record LoadBalancerIPAllocated: assigned 192.0.2.1 from pool default',
    ]);
  });

  it('a status address held by another service is not adopted: the service allocates anew', () => {
    const plan = planLb(
      new Map([['192.0.2.0', 'ns/owner']]),
      services(svc('owner', { statusIps: ['192.0.2.0'] }), svc('copycat', { statusIps: ['192.0.2.0'] })),
      pools,
    );
    expect(show(plan)).toEqual([
      'claim 192.0.2.1 for copycat (default)',
      'status copycat [192.0.2.1]',
      'note copycat LoadBalancerIPAllocated: assigned 192.0.2.1 from pool default',
    ]);
  });

  it('services naming their address go before services taking any free one', () => {
    const plan = planLb(
      new Map(),
      services(
        svc('any'),
        svc('adopts', { statusIps: ['192.0.2.0'] }),
        svc('asks', { requested: '192.0.2.1' }),
      ),
      pools,
    );
    expect(show(plan).filter((l) => l.startsWith('claim') || l.startsWith('warn'))).toEqual([
      'claim 192.0.2.0 for adopts (default)',
      'claim 192.0.2.1 for asks (default)',
      `warn any ${REASONS.exhausted}: pool default has no free address`,
    ]);
  });

  it('keeps one record of a service that holds two, the one its status shows', () => {
    const plan = planLb(
      new Map([
        ['192.0.2.0', 'ns/a'],
        ['192.0.2.1', 'ns/a'],
      ]),
      services(svc('a', { statusIps: ['192.0.2.1'] })),
      pools,
    );
    expect(show(plan)).toEqual(['release 192.0.2.0 of ns/a']);
  });

  it('moves to a newly requested address when it is free, else keeps the old one and says why', () => {
    const records = new Map([
      ['192.0.2.0', 'ns/a'],
      ['192.0.2.1', 'ns/b'],
    ]);
    const moved = planLb(
      records,
      services(svc('a', { requested: '198.51.100.10', statusIps: ['192.0.2.0'] })),
      pools,
    );
    expect(show(moved)).toEqual([
      'release 192.0.2.0 of ns/a',
      'release 192.0.2.1 of ns/b',
      'claim 198.51.100.10 for a (dmz)',
      'status a [198.51.100.10]',
      'note a LoadBalancerIPAllocated: assigned 198.51.100.10 from pool dmz',
    ]);
    const stuck = planLb(
      records,
      services(
        svc('a', { requested: '192.0.2.1', statusIps: ['192.0.2.0'] }),
        svc('b', { statusIps: ['192.0.2.1'] }),
      ),
      pools,
    );
    expect(show(stuck)).toEqual([
      'warn a LoadBalancerIPConflict: 192.0.2.1 is held by service ns/b; keeping 192.0.2.0',
    ]);
  });

  it('gives a single-stack IPv6 service an IPv6 address, or says the pool has none', () => {
    const dual = new LbPools(parsePools('default=192.0.2.0/32,2001:db8::/128'));
    expect(
      show(planLb(new Map(), services(svc('v6', { family: 6 }), svc('v6b', { family: 6 })), dual)),
    ).toEqual([
      'claim 2001:db8:: for v6 (default)',
      'status v6 [2001:db8::]',
      'note v6 LoadBalancerIPAllocated: assigned 2001:db8:: from pool default',
      `warn v6b ${REASONS.exhausted}: pool default has no free IPv6 address`,
    ]);
  });

  it('clears a status nothing backs (a service that stopped being a LoadBalancer)', () => {
    expect(
      show(planLb(new Map(), services(svc('was-lb', { wants: false, statusIps: ['192.0.2.0'] })), pools)),
    ).toEqual(['status was-lb []']);
  });
});
