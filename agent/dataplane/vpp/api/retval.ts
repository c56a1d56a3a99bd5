// Names of the VNET_API_ERROR codes a network plugin meets (vnet/error.h). Unlisted codes are
// reported by number; the table is for humans reading logs, never for control flow.
const NAMES: ReadonlyMap<number, string> = new Map([
  [-1, 'unspecified error'],
  [-2, 'invalid sw_if_index'],
  [-3, 'no such FIB / VRF'],
  [-6, 'no such entry'],
  [-7, 'invalid value'],
  [-8, 'invalid value #2'],
  [-9, 'unimplemented'],
  [-11, 'system call error #1'],
  [-30, 'feature disabled by configuration'],
  [-50, 'next hop not in FIB'],
  [-53, 'next hop not found (multipath)'],
  [-60, 'address not found for interface'],
  [-63, 'no such graph node'],
  [-71, 'invalid interface'],
  [-73, 'invalid argument'],
  [-75, 'tunnel already exists'],
  [-76, 'invalid decap-next'],
  [-79, 'interface already exists'],
  [-81, 'value already exists'],
  [-97, 'invalid address family'],
  [-100, 'cannot enable/disable feature'],
  [-105, 'address in use'],
  [-114, 'address found for interface'],
  [-116, 'entry already exists'],
  [-126, 'unsupported'],
  [-127, 'address already present on another interface'],
  [-142, 'inbound ACL in use'],
  [-143, 'outbound ACL in use'],
  [-145, 'netlink error'],
  [-165, 'EAGAIN: call again'],
]);

export function retvalName(retval: number): string {
  return NAMES.get(retval) ?? 'unknown error';
}
