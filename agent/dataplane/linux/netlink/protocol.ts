// What the agent (client.ts) and the netlink helper (helper.ts) say to each other: one JSON line
// per request, one per answer, matched by `id`. The helper's first line is `{ "id": 0 }`: ready.

/** A pod's wiring as the helper takes it: PodWiring with every default filled in. */
export interface WireRequest {
  hostIfName: string;
  /** The host side's MAC. */
  hostMac: string;
  /** The host side's alias (the item key, behind netloom's prefix). */
  alias: string;
  /** The pod's network namespace, a path. */
  netns: string;
  ifname: string;
  mtu: number;
  mac: string;
  addresses: string[];
  defaultRoute: boolean;
  routes: string[];
  hostRoutes: string[];
  hostTable: 'main' | number;
  /** Marks the host routes as netloom's. */
  routeProto: number;
  /** The MAC the pod's permanent neighbour for the gateway gets. */
  gatewayMac: string;
}

/** A request without its `id`, which the client adds. */
export type HelperCall = { op: 'wire'; wiring: WireRequest } | { op: 'unwire'; hostIfName: string };

export type HelperRequest = HelperCall & { id: number };

/** Success, or the step that failed (as the iproute2 command it stands for) and its errno. */
export interface HelperAnswer {
  id: number;
  error?: { step: string; errno: number; netns: boolean };
}
