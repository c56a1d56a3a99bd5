// What a TCP/UDP/SCTP port number may be, checked the same way by every renderer and driver
// (values come from Kubernetes objects and etcd, written by others).

/** A port a connection can use: an integer from 1 to 65535. */
export const isPort = (p: unknown): p is number =>
  Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65_535;

/** A port bound of a range, where 0 stands for "every port" (0 to 65535). */
export const isPortBound = (p: unknown): p is number =>
  Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65_535;
