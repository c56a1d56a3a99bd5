#!/usr/bin/env python3
# Test aid for the STN lab (not shipped): the packet half of the lab's stand-in for VPP.
# The fake VPP (stn-fake-vpp.ts) answers the binary API but forwards nothing; this process
# does what VPP does for the STN host interface, with the kernel's own tools:
#   - creates the host end of the TAP (a real, non-persistent TAP: it vanishes when this
#     process dies, as VPP's TAP vanishes when VPP dies) with the MAC, MTU, IPv4 address and
#     default gateway tap_create_v3 asked for (VPP sets them over netlink the same way);
#   - takes the NIC (link up, as VPP's af_packet/DPDK would) and copies frames both ways
#     between the NIC (AF_PACKET) and the TAP: what VPP's STN rule does for the node's address.
# It exits when its stdin closes, i.e. when the fake VPP process that started it dies.
# Run inside the node's network namespace (`ip netns exec`). Arguments: key=value.
import fcntl
import os
import select
import socket
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def ip(*args):
    subprocess.run(["ip", *args], check=True)


def main():
    a = dict(arg.split("=", 1) for arg in sys.argv[1:])
    nic, tap = a["nic"], a["tap"]
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
    ip("link", "set", "dev", tap, "address", a["mac"], "mtu", a["mtu"])
    ip("link", "set", "dev", tap, "up")
    if a.get("ip4"):
        ip("address", "add", a["ip4"], "dev", tap)
    if a.get("gw4"):
        ip("route", "add", "default", "via", a["gw4"], "dev", tap)
    ip("link", "set", "dev", nic, "up")
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((nic, 0))
    print("ready", flush=True)
    stdin = sys.stdin.fileno()
    while True:
        ready, _, _ = select.select([fd, sock, stdin], [], [])
        if stdin in ready and not os.read(stdin, 4096):
            return
        if fd in ready:
            sock.send(os.read(fd, 65536))
        if sock in ready:
            frame, addr = sock.recvfrom(65536)
            # Frames the kernel sends on the NIC (ours included) are seen here too.
            if addr[2] != PACKET_OUTGOING:
                os.write(fd, frame)


if __name__ == "__main__":
    main()
