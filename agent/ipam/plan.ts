// The pod address plan: the cluster pod CIDR cut into equal per-node subnets, node ID N owning
// the N-th one (10.1.0.0/16 with /24 per node: ID 3 → 10.1.3.0/24, gateway 10.1.3.1). Pure.
import { ConfigError } from '../../lib/errors.ts';
import { formatIp, formatPrefix, parsePrefix, sizeOf, type Prefix } from '../../lib/cidr.ts';

export interface PlanConfig {
  /** Cluster pod CIDR, e.g. 10.1.0.0/16. */
  podCidr: string;
  /** Prefix length of one node's subnet, e.g. 24. */
  nodePrefixLength: number;
  /** Offset of the gateway in a node subnet (1 → .1). */
  gatewayOffset: number;
  /** Further host offsets never handed out (besides network, gateway and broadcast). */
  reservedOffsets?: readonly number[];
}

export interface NodeSubnet {
  id: number;
  subnet: Prefix;
  /** 'a.b.c.d/n' */
  cidr: string;
  gateway: string;
  /** Offsets (from the subnet base) that are never allocated. */
  reserved: ReadonlySet<number>;
}

export class AddressPlan {
  readonly podCidr: Prefix;
  readonly nodePrefixLength: number;
  readonly gatewayOffset: number;
  readonly reservedOffsets: readonly number[];

  constructor(config: PlanConfig) {
    this.podCidr = parsePrefix(config.podCidr, 'podCidr');
    this.nodePrefixLength = config.nodePrefixLength;
    if (
      !Number.isInteger(config.nodePrefixLength) ||
      config.nodePrefixLength <= this.podCidr.length ||
      config.nodePrefixLength > 30
    ) {
      throw new ConfigError(
        'nodePrefixLength',
        `must be an integer longer than the pod CIDR's /${this.podCidr.length} and at most 30`,
      );
    }
    const hosts = sizeOf(config.nodePrefixLength);
    if (
      !Number.isInteger(config.gatewayOffset) ||
      config.gatewayOffset < 1 ||
      config.gatewayOffset > hosts - 2
    ) {
      throw new ConfigError('gatewayOffset', `must be between 1 and ${hosts - 2}`);
    }
    this.gatewayOffset = config.gatewayOffset;
    this.reservedOffsets = config.reservedOffsets ?? [];
  }

  /** The highest usable node ID; IDs start at 1 (subnet 0 is left out so no node owns x.y.0.0). */
  get maxNodeId(): number {
    return 2 ** (this.nodePrefixLength - this.podCidr.length) - 1;
  }

  forNode(id: number): NodeSubnet {
    if (!Number.isInteger(id) || id < 1 || id > this.maxNodeId) {
      throw new RangeError(
        `node ID ${id} outside 1..${this.maxNodeId} for pod CIDR ${formatPrefix(this.podCidr)}`,
      );
    }
    const size = sizeOf(this.nodePrefixLength);
    const subnet = { base: this.podCidr.base + id * size, length: this.nodePrefixLength };
    const reserved = new Set([
      0,
      this.gatewayOffset,
      size - 1,
      ...this.reservedOffsets.filter((o) => o >= 0 && o < size),
    ]);
    return {
      id,
      subnet,
      cidr: formatPrefix(subnet),
      gateway: formatIp(subnet.base + this.gatewayOffset),
      reserved,
    };
  }
}
