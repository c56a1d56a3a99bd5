// The pure parts of netloomctl's output: table layout, cells, the short flag forms, and the
// node health verdicts and error lines an operator reads.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/errors.ts';
import { normalizeArgv, reasonOf } from './common.ts';
import { nodeHealth } from './nodes.ts';
import { rawPrefix } from './raw.ts';
import { clip, formatTable, listCell } from './table.ts';

describe('formatTable', () => {
  it('aligns every column to its widest cell, two spaces apart, header in capitals', () => {
    const text = formatTable({
      columns: ['name', 'id', 'subnet'],
      rows: [
        ['node-a', '1', '10.1.1.0/24'],
        ['b', '12', '10.1.12.0/24'],
      ],
    });
    expect(text).toBe(
      'NAME    ID  SUBNET\n' + //
        'node-a  1   10.1.1.0/24\n' +
        'b       12  10.1.12.0/24\n',
    );
  });

  it('leaves no trailing blanks when the last cell is empty, and keeps cells on one line', () => {
    const text = formatTable({
      columns: ['a', 'note'],
      rows: [
        ['x', ''],
        ['yy', 'two\nlines'],
      ],
    });
    expect(text.split('\n').every((l) => l === l.trimEnd())).toBe(true);
    expect(text).toBe('A   NOTE\nx\nyy  two lines\n');
  });

  it('prints the empty text instead of a lone header, and the header when none is given', () => {
    expect(formatTable({ columns: ['a'], rows: [], empty: 'no pods' })).toBe('no pods\n');
    expect(formatTable({ columns: ['a', 'b'], rows: [] })).toBe('A  B\n');
  });

  it('pads a short row instead of shifting the columns after it', () => {
    expect(formatTable({ columns: ['a', 'b', 'c'], rows: [['1'], ['1', '2', '3']] })).toBe(
      'A  B  C\n1\n1  2  3\n',
    );
  });
});

describe('cells', () => {
  it('clip keeps short text and ends long text with an ellipsis at the limit', () => {
    expect(clip('abc', 3)).toBe('abc');
    expect(clip('abcd', 3)).toBe('ab…');
  });

  it('listCell shows the first items and counts the rest', () => {
    expect(listCell([])).toBe('-');
    expect(listCell(['a', 'b'])).toBe('a,b');
    expect(listCell(['a', 'b', 'c', 'd', 'e'], 3)).toBe('a,b,c +2');
  });
});

describe('normalizeArgv', () => {
  it('reads -o in its usual forms and a bare --probe before a positional', () => {
    expect(normalizeArgv(['nodes', '-o', 'json'])).toEqual(['nodes', '--output', 'json']);
    expect(normalizeArgv(['-oyaml'])).toEqual(['--output', 'yaml']);
    expect(normalizeArgv(['-o=json'])).toEqual(['--output', 'json']);
    expect(normalizeArgv(['--probe', 'node1'])).toEqual(['--probe=true', 'node1']);
    expect(normalizeArgv(['--cluster', 'c1'])).toEqual(['--cluster', 'c1']);
  });

  it('refuses other short flags and a dangling -o', () => {
    expect(() => normalizeArgv(['-x'])).toThrow(ConfigError);
    expect(() => normalizeArgv(['nodes', '-o'])).toThrow(/needs a value/);
  });
});

describe('nodeHealth', () => {
  const info = { name: 'n1', id: 3, managementIp: '', tunnelEndpoint: '', podSubnet: '' };
  it('is ok for a Kubernetes node whose live agent published the ID it claimed', () => {
    expect(nodeHealth({ claimedIds: [3], inKubernetes: true, agentAlive: true, info })).toBe('ok');
  });
  it('names each inconsistency', () => {
    expect(nodeHealth({ claimedIds: [3, 5], inKubernetes: true, agentAlive: true, info })).toMatch(
      /ID conflict: claims 3, 5/,
    );
    expect(nodeHealth({ claimedIds: [4], inKubernetes: true, agentAlive: true, info })).toMatch(
      /ID mismatch: nodes\/info says 3, nodes\/id says 4/,
    );
    expect(nodeHealth({ claimedIds: [3], inKubernetes: true, agentAlive: false, info: null })).toMatch(
      /agent down/,
    );
    expect(nodeHealth({ claimedIds: [3], inKubernetes: false, agentAlive: false, info: null })).toBe(
      'departed: ID still claimed',
    );
    expect(nodeHealth({ claimedIds: [], inKubernetes: false, agentAlive: false, info: null })).toBe(
      'departed: IPAM records left',
    );
  });
});

describe('reasonOf', () => {
  it('turns gRPC connection errors into one short line', () => {
    const grpc = new Error(
      'list [/a, /b) at revision 0: 14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ',
    );
    expect(reasonOf(grpc)).toBe('connection refused (127.0.0.1:1)');
    expect(reasonOf(new Error('14 UNAVAILABLE: Name resolution failed for target dns:x:1\nmore'))).toBe(
      'Name resolution failed for target dns:x:1',
    );
  });

  it('names the TLS setting to fix instead of quoting OpenSSL', () => {
    const required = new Error(
      '14 UNAVAILABLE: No connection established. Last error: 409D:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../rec_layer_s3.c:918:SSL alert number 116',
    );
    expect(reasonOf(required)).toBe('etcd wants a client certificate (--etcd-cert, --etcd-key)');
    const untrusted = new Error(
      '14 UNAVAILABLE: No connection established. Last error: Error: unable to verify the first certificate; if the root CA…',
    );
    expect(reasonOf(untrusted)).toBe("etcd's certificate is not signed by a CA given (--etcd-ca)");
  });
});

describe('rawPrefix', () => {
  const root = '/netloom/v1/c1/';
  it('takes a prefix relative to the cluster root, or a full one inside it', () => {
    expect(rawPrefix(root, undefined)).toBe(root);
    expect(rawPrefix(root, 'ipam/n1/')).toBe('/netloom/v1/c1/ipam/n1/');
    expect(rawPrefix(root, '/netloom/v1/c1/k8s/')).toBe('/netloom/v1/c1/k8s/');
  });
  it("refuses a full prefix outside the cluster's keys", () => {
    expect(() => rawPrefix(root, '/netloom/v1/other/')).toThrow(ConfigError);
  });
});
