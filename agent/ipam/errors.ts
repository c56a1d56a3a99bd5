// IPAM errors: each names the node and subnet so an operator knows where to look.
import { NetloomError } from '../../lib/errors.ts';

/** Every address of the node's pod subnet is allocated (or reserved). Not retriable by itself. */
export class SubnetFullError extends NetloomError {
  readonly node: string;
  readonly subnet: string;

  constructor(node: string, subnet: string, allocated: number, usable: number) {
    super(
      `pod subnet ${subnet} of node ${node} is full: ${allocated} of ${usable} usable addresses allocated ` +
        `(network, gateway, broadcast and reserved addresses are never handed out); ` +
        `delete pods on this node or run IPAM garbage collection`,
    );
    this.node = node;
    this.subnet = subnet;
  }
}

/** The IP is not in this node's subnet, or is reserved (a record from a foreign or corrupt source). */
export class ForeignAddressError extends NetloomError {}

/** A requested address is held by another pod interface. */
export class AddressTakenError extends NetloomError {
  readonly ip: string;

  constructor(ip: string, holder: string) {
    super(`requested address ${ip} is already held by ${holder}`);
    this.ip = ip;
  }
}
