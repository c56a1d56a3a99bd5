// Fake handlers for af_packet interfaces (plugin af_packet), as src/plugins/af_packet/
// af_packet.c and af_packet_api.c answer: the interface is `host-<host_if_name>`, dev type
// `af_packet`; a second one on the same host_if_name is refused with IF_ALREADY_EXISTS and the
// existing sw_if_index; a mode other than ethernet (1) or ip (2) with INVALID_VALUE; a delete
// of a name VPP does not hold with SYSCALL_ERROR_1. The kernel interface itself is not checked
// (a real VPP answers INVALID_INTERFACE when it is missing): the fake sees no kernel.
import { fail, ok, VNET, type Handler } from './handler.ts';
import type { FakeInterface, FakeVppState } from './state.ts';

const ALL = 0xffffffff;

const afPackets = (state: FakeVppState): FakeInterface[] =>
  [...state.interfaces.values()].filter((i) => i.afPacket !== undefined);

let nextMac = 1;

export const afPacketHandlers: Record<string, Handler> = {
  af_packet_create_v3: (msg, ctx) => {
    const hostIfName = msg['host_if_name'] as string;
    const mode = msg['mode'] as number;
    if (mode !== 1 && mode !== 2) return fail(VNET.INVALID_VALUE, { sw_if_index: ALL });
    const existing = afPackets(ctx.state).find((i) => i.afPacket!.hostIfName === hostIfName);
    if (existing !== undefined) return fail(VNET.IF_ALREADY_EXISTS, { sw_if_index: existing.swIfIndex });
    const mac =
      msg['use_random_hw_addr'] === true
        ? Uint8Array.from([2, 0xfe, 0xaf, 0, (nextMac >> 8) & 0xff, nextMac++ & 0xff])
        : Uint8Array.from(msg['hw_addr'] as Uint8Array);
    const itf = ctx.state.addInterface({
      name: `host-${hostIfName}`,
      // As a real VPP reports it: dev type "af-packet", L3 MTU 9000.
      devType: 'af-packet',
      mac,
      mtu: [9000, 0, 0, 0],
    });
    itf.afPacket = { hostIfName };
    ctx.interfaceEvent(itf.swIfIndex, false);
    return ok({ sw_if_index: itf.swIfIndex });
  },
  af_packet_delete: (msg, ctx) => {
    const itf = afPackets(ctx.state).find((i) => i.afPacket!.hostIfName === msg['host_if_name']);
    if (itf === undefined) return fail(VNET.SYSCALL_ERROR_1);
    ctx.state.removeInterface(itf.swIfIndex);
    ctx.interfaceEvent(itf.swIfIndex, true);
    return ok();
  },
  af_packet_dump: (_msg, ctx) => ({
    details: afPackets(ctx.state).map((i) => ({
      sw_if_index: i.swIfIndex,
      host_if_name: i.afPacket!.hostIfName,
    })),
  }),
};
