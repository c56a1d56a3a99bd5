import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  interfaceNameProblem,
  NETWORKS_ANNOTATION,
  parseNetworkSelections,
  SelectionError,
  type NetworkSelection,
} from './selection.ts';

const parse = (value: string, ns = 'pods'): NetworkSelection[] => parseNetworkSelections(value, ns);

/** The selection with every optional field empty, as the parser fills it. */
const plain = (namespace: string, name: string, iface: string): NetworkSelection => ({
  namespace,
  name,
  interface: iface,
  ips: [],
  mac: '',
  defaultRoute: [],
  cniArgs: {},
  portMappings: [],
});

/** The SelectionError `fn` throws (fails the test when it throws nothing or something else). */
function errorOf(fn: () => unknown): SelectionError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SelectionError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('the annotation name', () => {
  it('is the spec’s', () => expect(NETWORKS_ANNOTATION).toBe('k8s.v1.cni.cncf.io/networks'));
});

describe('comma list', () => {
  it('names networks in the pod namespace, net1.. in order', () => {
    expect(parse('net-a,net-b')).toEqual([plain('pods', 'net-a', 'net1'), plain('pods', 'net-b', 'net2')]);
  });

  it('takes namespace/name, name@ifname and namespace/name@ifname, whitespace tolerated', () => {
    expect(parse('  net-a, other-ns/net-b ,net-c@eth5, x / y @ e1 ')).toEqual([
      plain('pods', 'net-a', 'net1'),
      plain('other-ns', 'net-b', 'net2'),
      plain('pods', 'net-c', 'eth5'),
      plain('x', 'y', 'e1'),
    ]);
  });

  it('counts the same network twice as two attachments', () => {
    expect(parse('a,a,ns2/a')).toEqual([
      plain('pods', 'a', 'net1'),
      plain('pods', 'a', 'net2'),
      plain('ns2', 'a', 'net3'),
    ]);
  });

  it('empty and blank values ask for nothing', () => {
    expect(parse('')).toEqual([]);
    expect(parse('  \n ')).toEqual([]);
    expect(parse('[]')).toEqual([]);
  });

  it.each([
    ['a,,b', 1, 'empty entry'],
    ['a,', 1, 'empty entry'],
    [',a', 0, 'empty entry'],
    ['a/b/c', 0, "more than one '/'"],
    ['a@b@c', 0, "more than one '@'"],
    ['/a', 0, 'empty namespace'],
    ['a@', 0, 'empty interface'],
    ['ns/', 0, 'network name ""'],
    ['@eth1', 0, 'network name ""'],
    ['Net-A', 0, 'not a DNS-1123 label'],
    ['net_a', 0, 'not a DNS-1123 label'],
    ['-a', 0, 'not a DNS-1123 label'],
    ['a-', 0, 'not a DNS-1123 label'],
    ['a.b', 0, 'not a DNS-1123 label'],
    ['ok,NS/a', 1, 'namespace "NS"'],
    [`${'a'.repeat(64)}`, 0, 'longer than 63'],
    [`${'n'.repeat(64)}/a`, 0, 'longer than 63'],
    ['a@eth:1', 0, "holds '/' or ':'"],
    ['a@.', 0, 'is not a name'],
    ['a@..', 0, 'is not a name'],
    ['a@abcdefghijklmnop', 0, 'longer than 15'],
    ['a@x\ty', 0, 'whitespace'],
    ['a@e1,b@e1', 1, 'also requested by entry 1'],
  ])('refuses %j (entry %i: %s)', (value, index, text) => {
    const err = errorOf(() => parse(value));
    expect(err.index).toBe(index);
    expect(err.message).toContain(text);
    expect(err.message).toContain(NETWORKS_ANNOTATION);
    expect(err.message).toContain(`entry ${index + 1}`);
    expect(err.entry).toBe(value.split(',')[index]!.trim());
  });

  it('accepts a 63-character name and a 15-byte interface', () => {
    const name = 'a'.repeat(63);
    expect(parse(`${name}@abcdefghijklmno`)).toEqual([plain('pods', name, 'abcdefghijklmno')]);
  });
});

describe('JSON list', () => {
  it('reads every field of the spec', () => {
    const value = JSON.stringify([
      {
        name: 'macvlan-conf',
        namespace: 'other',
        interface: 'data0',
        ips: ['10.1.1.5/24', '2001:db8::5/64'],
        mac: 'C2-B0-57-49-47-F1',
        'default-route': ['10.1.1.1', '2001:db8::1'],
        'cni-args': { foo: 'bar', n: 1 },
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
        bandwidth: { ingressRate: 1000, ingressBurst: 10 },
        'infiniband-guid': 'C2:B0:57:49:47:F1:00:01',
      },
    ]);
    expect(parse(value)).toEqual([
      {
        namespace: 'other',
        name: 'macvlan-conf',
        interface: 'data0',
        ips: ['10.1.1.5/24', '2001:db8::5/64'],
        mac: 'c2:b0:57:49:47:f1',
        defaultRoute: ['10.1.1.1', '2001:db8::1'],
        cniArgs: { foo: 'bar', n: 1 },
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
        bandwidth: { ingressRate: 1000, ingressBurst: 10 },
        infinibandGuid: 'c2:b0:57:49:47:f1:00:01',
      },
    ]);
  });

  it('defaults namespace and interface, treats "" and null as not given, ignores unknown fields', () => {
    const value = JSON.stringify([
      { name: 'a' },
      { name: 'b', namespace: '', interface: '', ips: null, mac: '', future: { x: 1 } },
      { name: 'a', namespace: null },
    ]);
    expect(parse(value, 'mine')).toEqual([
      plain('mine', 'a', 'net1'),
      plain('mine', 'b', 'net2'),
      plain('mine', 'a', 'net3'),
    ]);
  });

  it('does not share cni-args objects with the input', () => {
    const [s] = parse('[{"name":"a","cni-args":{"k":"v"}}]');
    s!.cniArgs['k'] = 'changed';
    expect(parse('[{"name":"a","cni-args":{"k":"v"}}]')[0]!.cniArgs).toEqual({ k: 'v' });
  });

  it('accepts whitespace around the JSON', () => {
    expect(parse('  \n[ {"name": "a"} ]\n')).toEqual([plain('pods', 'a', 'net1')]);
  });

  it.each([
    ['[{"name": "a"', undefined, undefined, 'not valid JSON'],
    ['{"name": "a"}', undefined, undefined, 'must be a list'],
    ['["a"]', 0, undefined, 'must be an object'],
    ['[null]', 0, undefined, 'must be an object'],
    ['[[]]', 0, undefined, 'must be an object'],
    ['[{}]', 0, 'name', 'name: missing'],
    ['[{"name": 5}]', 0, 'name', 'must be a string'],
    ['[{"name": "A"}]', 0, 'name', 'DNS-1123'],
    ['[{"name": "a"}, {"name": "b", "namespace": "N"}]', 1, 'namespace', 'namespace "N"'],
    ['[{"name": "a", "namespace": 1}]', 0, 'namespace', 'must be a string'],
    ['[{"name": "a", "interface": "x/y"}]', 0, 'interface', "'/' or ':'"],
    ['[{"name": "a", "interface": "x y"}]', 0, 'interface', 'whitespace'],
    ['[{"name": "a", "interface": "\\u0001"}]', 0, 'interface', 'control character'],
    ['[{"name": "a", "interface": "e1"}, {"name": "b", "interface": "e1"}]', 1, 'interface', 'entry 1'],
    ['[{"name": "a", "ips": "10.0.0.1/24"}]', 0, 'ips', 'list of strings'],
    ['[{"name": "a", "ips": [1]}]', 0, 'ips', 'list of strings'],
    ['[{"name": "a", "ips": ["10.0.0.1"]}]', 0, 'ips', 'CIDR'],
    ['[{"name": "a", "ips": ["10.0.0.1/33"]}]', 0, 'ips', 'CIDR'],
    ['[{"name": "a", "ips": ["10.0.0.256/24"]}]', 0, 'ips', 'CIDR'],
    ['[{"name": "a", "ips": ["2001:db8::1/129"]}]', 0, 'ips', 'CIDR'],
    ['[{"name": "a", "ips": ["x/24"]}]', 0, 'ips', 'CIDR'],
    ['[{"name": "a", "mac": "c2:b0:57:49:47"}]', 0, 'mac', 'not a MAC'],
    ['[{"name": "a", "mac": "c2:b0:57:49:47:f1:00"}]', 0, 'mac', 'not a MAC'],
    ['[{"name": "a", "mac": "c2:b0-57:49:47:f1"}]', 0, 'mac', 'not a MAC'],
    ['[{"name": "a", "mac": "c2b0.5749.47f1"}]', 0, 'mac', 'not a MAC'],
    ['[{"name": "a", "mac": "zz:b0:57:49:47:f1"}]', 0, 'mac', 'not a MAC'],
    ['[{"name": "a", "mac": "01:00:5e:00:00:01"}]', 0, 'mac', 'multicast'],
    ['[{"name": "a", "mac": "ff:ff:ff:ff:ff:ff"}]', 0, 'mac', 'multicast'],
    ['[{"name": "a", "mac": "00:00:00:00:00:00"}]', 0, 'mac', 'not an interface address'],
    ['[{"name": "a", "mac": 5}]', 0, 'mac', 'must be a string'],
    ['[{"name": "a", "default-route": ["10.0.0.1/24"]}]', 0, 'default-route', 'not an IP'],
    ['[{"name": "a", "default-route": ["gw"]}]', 0, 'default-route', 'not an IP'],
    ['[{"name": "a", "default-route": "10.0.0.1"}]', 0, 'default-route', 'list of strings'],
    ['[{"name": "a", "cni-args": []}]', 0, 'cni-args', 'must be an object'],
    ['[{"name": "a", "cni-args": "x=y"}]', 0, 'cni-args', 'must be an object'],
    ['[{"name": "a", "portMappings": {}}]', 0, 'portMappings', 'list of objects'],
    ['[{"name": "a", "portMappings": [80]}]', 0, 'portMappings', 'list of objects'],
    ['[{"name": "a", "bandwidth": 5}]', 0, 'bandwidth', 'must be an object'],
    ['[{"name": "a", "infiniband-guid": "c2:b0:57:49:47:f1"}]', 0, 'infiniband-guid', 'not a GUID'],
  ])('refuses %s', (value, index, field, text) => {
    const err = errorOf(() => parse(value));
    expect(err.index).toBe(index);
    expect(err.field).toBe(field);
    expect(err.message).toContain(text);
    if (index === undefined) expect(err.entry).toBe(value);
    else expect(JSON.parse(err.entry)).toEqual((JSON.parse(value) as unknown[])[index]);
  });

  it('keeps the parse error as the cause', () => {
    const err = errorOf(() => parse('[{'));
    expect(err.cause).toBeInstanceOf(SyntaxError);
    expect(err.name).toBe('SelectionError');
  });

  it('clips a huge entry in the message but keeps it whole on the error', () => {
    const big = JSON.stringify([{ name: 'a', mac: 'x', pad: 'p'.repeat(5000) }]);
    const err = errorOf(() => parse(big));
    expect(err.message.length).toBeLessThan(400);
    expect(err.entry.length).toBeGreaterThan(5000);
  });
});

describe('interface names', () => {
  it('skips names requested explicitly anywhere in the list', () => {
    expect(parse('a,b@net1,c,d@net3,e').map((s) => s.interface)).toEqual([
      'net2',
      'net1',
      'net4',
      'net3',
      'net5',
    ]);
  });

  it('a reserved name is refused explicitly and skipped automatically', () => {
    expect(
      parseNetworkSelections('a,b', 'p', { reservedInterfaces: ['net1'] }).map((s) => s.interface),
    ).toEqual(['net2', 'net3']);
    const err = errorOf(() => parseNetworkSelections('a@eth0', 'p', { reservedInterfaces: ['eth0'] }));
    expect(err.message).toContain("already the pod's");
    expect(err.field).toBe('interface');
  });

  it.each([
    ['eth0', undefined],
    ['a', undefined],
    ['abcdefghijklmno', undefined],
    ['dot.ted', undefined],
    ['a~b!', undefined],
    ['ünï', 'outside ASCII'],
    ['', 'empty'],
    ['abcdefghijklmnop', 'longer'],
    ['ééééééééé', 'longer'], // 18 bytes
    ['.', 'not a name'],
    ['..', 'not a name'],
    ['a:b', "':'"],
    ['a/b', "'/'"],
    ['a\nb', 'whitespace'],
    ['a b', 'whitespace'],
    ['a\u007fb', 'control'],
    ['a\u00a0b', 'outside ASCII'],
  ])('interfaceNameProblem(%j) mentions %s', (name, text) => {
    const problem = interfaceNameProblem(name);
    if (text === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(text);
  });

  it('property: every list of valid entries gets distinct valid names, explicit ones kept', () => {
    const entry = fc.record({
      name: fc.constantFrom('a', 'b', 'net1'),
      iface: fc.option(fc.constantFrom('net1', 'net2', 'net4', 'eth9', 'x'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), (entries) => {
        const explicit = entries.map((e) => e.iface).filter((i) => i !== undefined);
        fc.pre(new Set(explicit).size === explicit.length);
        const value = JSON.stringify(entries.map((e) => ({ name: e.name, interface: e.iface })));
        const got = parse(value);
        const names = got.map((s) => s.interface);
        expect(new Set(names).size).toBe(names.length);
        entries.forEach((e, i) => {
          if (e.iface !== undefined) expect(names[i]).toBe(e.iface);
          else expect(names[i]).toMatch(/^net\d+$/);
          expect(interfaceNameProblem(names[i]!)).toBeUndefined();
        });
        // The comma form of the same list means the same thing.
        const comma = entries.map((e) => (e.iface ? `${e.name}@${e.iface}` : e.name)).join(',');
        if (entries.length > 0) expect(parse(comma)).toEqual(got);
      }),
    );
  });
});
