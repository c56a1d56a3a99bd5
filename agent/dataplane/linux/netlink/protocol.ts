// What the agent (client.ts) and the netlink helper (helper.ts) say to each other: one JSON line
// per request, one per answer, matched by `id`. The helper's first line is `{ "id": 0 }`: ready.
import type { PodStep } from '../kernel/pod-links.ts';

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
  /** What to do inside the pod, in order (kernel/pod-links.ts podSteps: both paths share it). */
  pod: PodStep[];
  hostRoutes: string[];
  hostTable: 'main' | number;
  /** Marks the host routes as netloom's. */
  routeProto: number;
}

/** A request without its `id`, which the client adds. */
export type HelperCall = { op: 'wire'; wiring: WireRequest } | { op: 'unwire'; hostIfName: string };

export type HelperRequest = HelperCall & { id: number };

/** Success, or the step that failed (as the iproute2 command it stands for) and its errno. */
export interface HelperAnswer {
  id: number;
  error?: { step: string; errno: number; netns: boolean };
}
