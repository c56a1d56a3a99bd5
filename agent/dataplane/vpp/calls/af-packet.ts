// VPP calls for af_packet interfaces (plugin af_packet): VPP's end of a kernel veth, named
// `host-<host_if_name>` by VPP. Message shapes live here and nowhere else.
import { macBytes } from '../addresses.ts';
import { tolerate, type VppApi } from '../vpp-api.ts';

/** af_packet_mode AF_PACKET_API_MODE_ETHERNET: frames with MACs (mode 0 is refused, −7). */
const MODE_ETHERNET = 1;
/**
 * QDISC_BYPASS | CKSUM_GSO: what VPP itself gives af_packet_create and _v2 (v3 takes the flags
 * as given, 0 meaning neither). CKSUM_GSO asks the kernel for the virtio-net header, so a pod's
 * offloaded packets (partial checksums, GSO) arrive with what VPP needs to complete them.
 */
const FLAGS = 1 | 2;
/**
 * af_packet_delete of a name VPP does not hold answers VNET_API_ERROR_SYSCALL_ERROR_1
 * (af_packet_delete_if in src/plugins/af_packet/af_packet.c): on a delete that means gone.
 */
const NO_SUCH_HOST_IF = -11;
/**
 * The TX ring's frames per block. VPP's default (1,024 frames of 66 KiB, room for a 64 KiB GSO
 * packet each: AF_PACKET_DEFAULT_TX_* in af_packet.c) maps about 138 MiB of kernel memory per
 * interface — a node with a few hundred pods would run out. 32 frames (the RX ring's default
 * for TPACKET_V3) brings a pod to about 14 MiB, measured on VPP v26.10-rc0 (bench/vpp-real-pods.ts,
 * docs/performance.md); VPP sends a frame as soon as it is filled, so the ring is rarely deep.
 */
export const TX_FRAMES_PER_BLOCK = 32;

export interface VppAfPacket {
  swIfIndex: number;
  /** The kernel interface VPP reads and writes. */
  hostIfName: string;
}

export class AfPacketCalls {
  private readonly api: VppApi;

  constructor(api: VppApi) {
    this.api = api;
  }

  /** VPP's interface on the kernel interface `hostIfName`, with the given MAC; its sw_if_index. */
  async create(hostIfName: string, mac: string): Promise<number> {
    const r = await this.api.request('af_packet_create_v3', {
      mode: MODE_ETHERNET,
      hw_addr: macBytes(mac),
      use_random_hw_addr: false,
      host_if_name: hostIfName,
      tx_frames_per_block: TX_FRAMES_PER_BLOCK,
      flags: FLAGS,
    });
    return r['sw_if_index'] as number;
  }

  /** Succeeds when VPP holds no af_packet interface on `hostIfName`. */
  async delete(hostIfName: string): Promise<void> {
    await tolerate(this.api.request('af_packet_delete', { host_if_name: hostIfName }), [NO_SUCH_HOST_IF]);
  }

  async list(): Promise<VppAfPacket[]> {
    const details = await this.api.dump('af_packet_dump');
    return details.map((d) => ({
      swIfIndex: d['sw_if_index'] as number,
      hostIfName: d['host_if_name'] as string,
    }));
  }
}
