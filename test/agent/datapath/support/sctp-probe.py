# SCTP packets without SCTP sockets, for the datapath tests on kernels without the sctp
# module: raw IP sockets of protocol 132 (SCTP). Bounded by its timeout.
#   sctp-probe.py listen TIMEOUT_S         print "SRC DST SPORT DPORT" of the first SCTP INIT received (or "timeout")
#   sctp-probe.py send DST DPORT SPORT     send one SCTP INIT to DST:DPORT from SPORT
# The INIT carries a valid CRC32c (RFC 9260 appendix A): netfilter's SCTP conntrack checks it
# at prerouting, and NAT applies only to tracked packets.
import socket
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def init_packet(sport, dport):
    # INIT chunk: type 1, flags 0, length 20, initiate tag, a_rwnd, outbound and inbound streams, initial TSN.
    chunk = struct.pack('!BBHIIHHI', 1, 0, 20, 0x1234ABCD, 65535, 1, 1, 1)
    header = struct.pack('!HHII', sport, dport, 0, 0)
    checksum = crc32c(header + chunk)
    # The checksum is sent least significant byte first.
    return struct.pack('!HHI', sport, dport, 0) + struct.pack('<I', checksum) + chunk


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)
    if sys.argv[1] == 'send':
        sock.sendto(init_packet(int(sys.argv[4]), int(sys.argv[3])), (sys.argv[2], 0))
        return
    sock.settimeout(float(sys.argv[2]))
    print('ready', flush=True)
    try:
        while True:
            packet, _ = sock.recvfrom(65535)
            ihl = (packet[0] & 0x0F) * 4
            src, dst = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
            sport, dport = struct.unpack('!HH', packet[ihl:ihl + 4])
            if len(packet) > ihl + 12 and packet[ihl + 12] == 1:
                print(f'{src} {dst} {sport} {dport}', flush=True)
                return
    except socket.timeout:
        print('timeout', flush=True)


main()
