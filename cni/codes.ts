// The CNI error codes, shared by the shim (cni/) and the agent's CNI server: the spec's (1-11,
// 50/51), libcni's additions (8, 999), and netloom's own (>= 100).
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  InvalidNetns: 8,
  TryAgainLater: 11,
  NotAvailable: 50,
  NotAvailableLimited: 51,
  Internal: 999,
  /** netloom: the data plane refused the pod's items (failed or invalid). */
  DataPlaneFailed: 100,
  /** netloom: ADD of a container ID + interface already attached (the spec requires an error). */
  AlreadyAttached: 101,
} as const;
export type CniCode = (typeof CniCode)[keyof typeof CniCode];
