import { describe, expect, it } from 'vitest';
import { decodeAttachment, type Attachment } from './attachments.ts';
import { compareInterfaces, networkStatusOf, networkStatusText } from './status.ts';

const rec = (ifname: string, record: object, node = 'n1'): Attachment => ({
  node,
  namespace: 'ns',
  pod: 'p',
  ifname,
  record: decodeAttachment(JSON.stringify(record))!,
});

describe('network-status', () => {
  const records = [
    rec('net10', {
      podUid: 'u1',
      network: 'ns/b',
      name: 'ns/b',
      ips: ['10.9.0.4/24'],
      mac: '02:00:00:00:00:0a',
    }),
    rec('net2', {
      podUid: 'u1',
      network: 'ns/blue',
      name: 'ns/blue',
      ips: ['10.200.1.5/24'],
      mac: '02:00:00:00:00:02',
    }),
    rec('eth0', {
      podUid: 'u1',
      name: 'netloom',
      ips: ['10.1.3.7/24', 'fd00::7/64'],
      mac: '0a:58:0a:01:03:07',
      default: true,
      gateways: ['10.1.3.1'],
      dns: { nameservers: ['10.96.0.10'], search: ['ns.svc.cluster.local'] },
    }),
    rec('net1', { podUid: 'u1', network: 'ns/mac', name: 'ns/mac', mac: '02:00:00:00:00:01' }),
    rec('net3', { podUid: 'old-uid', network: 'ns/blue', name: 'ns/blue', ips: ['10.200.1.9/24'] }, 'n2'),
  ];

  it('the default first, then net1, net2, net10; plain IPs; records of another UID ignored', () => {
    expect(networkStatusOf(records, 'u1')).toEqual([
      {
        name: 'netloom',
        interface: 'eth0',
        ips: ['10.1.3.7', 'fd00::7'],
        mac: '0a:58:0a:01:03:07',
        default: true,
        dns: { nameservers: ['10.96.0.10'], search: ['ns.svc.cluster.local'] },
        'default-route': ['10.1.3.1'],
      },
      { name: 'ns/mac', interface: 'net1', mac: '02:00:00:00:00:01', default: false },
      { name: 'ns/blue', interface: 'net2', ips: ['10.200.1.5'], mac: '02:00:00:00:00:02', default: false },
      { name: 'ns/b', interface: 'net10', ips: ['10.9.0.4'], mac: '02:00:00:00:00:0a', default: false },
    ]);
  });

  it('as the exact annotation text, keys in the spec’s order', () => {
    expect(networkStatusText(records.slice(1, 2), 'u1')).toBe(
      '[{"name":"ns/blue","interface":"net2","ips":["10.200.1.5"],"mac":"02:00:00:00:00:02","default":false}]',
    );
  });

  it('nothing for a pod without a record of its UID; a record without a UID counts', () => {
    expect(networkStatusText(records, 'u2')).toBeUndefined();
    expect(networkStatusText([], 'u1')).toBeUndefined();
    expect(networkStatusOf([rec('eth0', { default: true, network: '' })], 'u9')).toEqual([
      { name: 'netloom', interface: 'eth0', default: true },
    ]);
  });

  it('an empty dns is left out; a name falls back to the network', () => {
    expect(networkStatusOf([rec('net1', { podUid: 'u', network: 'a/b', dns: {} })], 'u')).toEqual([
      { name: 'a/b', interface: 'net1', default: false },
    ]);
  });

  it('orders interface names with numbers as numbers', () => {
    expect(['net10', 'net2', 'eth1', 'net1', 'foo'].sort(compareInterfaces)).toEqual([
      'eth1',
      'foo',
      'net1',
      'net2',
      'net10',
    ]);
  });

  it('decodes records leniently', () => {
    expect(decodeAttachment('nope')).toBeUndefined();
    expect(decodeAttachment('[]')).toBeUndefined();
    expect(decodeAttachment('{"ips":[1,"10.0.0.1/24"],"default":"yes"}')).toEqual({
      containerId: '',
      podUid: '',
      network: '',
      name: '',
      ips: ['10.0.0.1/24'],
      mac: '',
      default: false,
      gateways: [],
      dns: null,
      index: 0,
    });
    expect(decodeAttachment('{"index":2}')?.index).toBe(2);
    expect(decodeAttachment('{"index":-1}')?.index).toBe(0);
    expect(decodeAttachment('{"index":"2"}')?.index).toBe(0);
  });

  it("lists extras in the order the pod asked for them (the records' index), not by interface name", () => {
    const rec = (ifname: string, index: number, isDefault = false) => ({
      node: 'n1',
      namespace: 'ns',
      pod: 'p',
      ifname,
      record: decodeAttachment(
        JSON.stringify({ name: ifname, ips: ['10.0.0.1/32'], default: isDefault, index }),
      )!,
    });
    expect(
      networkStatusOf([rec('net1', 2), rec('data0', 1), rec('eth0', 0, true)], '').map((e) => e.interface),
    ).toEqual(['eth0', 'data0', 'net1']);
  });
});
