#!/usr/bin/env python3
"""Writes the hand-made seeds of tests/fuzz/corpus/<target>/ (the files named seed-*): each a
small input in the target's own script format (see the comment at the top of
tests/fuzz/fuzz_<target>.cc) that reaches the path it is named for, so libFuzzer starts from real
protocol traffic rather than noise. Rerun after changing a target's input format:

    tests/fuzz/corpus/make_seeds.py

The bzImage seeds (synthetic-*) are make_synthetic_bzimage()'s output (src/boot/synthetic_bzimage),
the virtio seeds (merged-*) inputs libFuzzer found from these, kept by -merge=1 for the coverage
they add; crash-* files are regression inputs of bugs libFuzzer found. None is written here."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, "seed-" + name), "wb") as f:
        f.write(bytes(data))


def op_code(modulus, residue, test=lambda op: True):
    """The smallest op byte that a target reading `op % modulus` takes for `residue` and whose
    other bits pass test (a width, a flag)."""
    return next(op for op in range(256) if op % modulus == residue and test(op))


def le16(v):
    return struct.pack("<H", v & 0xFFFF)


def le32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def dhcp_discover(mac, xid):
    """A real DHCP DISCOVER as udhcpc sends it: broadcast, from 0.0.0.0:68 to 255.255.255.255:67."""
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4,
                        b"\0" * 4, b"\0" * 4, b"\0" * 4, mac + b"\0" * 10, b"\0" * 64, b"\0" * 128)
    options = bytes([99, 130, 83, 99,  # magic cookie
                     53, 1, 1,  # DHCP message type: DISCOVER
                     61, 7, 1]) + mac + bytes([  # client identifier
                     55, 4, 1, 3, 6, 15,  # parameter request: mask, router, DNS, domain
                     255])
    payload = bootp + options
    udp_length = 8 + len(payload)
    src, dst = bytes(4), bytes([255] * 4)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_length)
    udp = struct.pack("!HHHH", 68, 67, udp_length, 0) + payload
    udp = udp[:6] + struct.pack("!H", checksum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\xff" * 6 + mac + b"\x08\x00" + ip + udp


def ethernet(dst, src, ethertype=0x0800, body=b""):
    frame = dst + src + struct.pack("!H", ethertype) + body
    return frame + b"\0" * max(0, 60 - len(frame))


MAC_A = bytes([0x52, 0x54, 0, 0, 0, 1])
MAC_B = bytes([0x52, 0x54, 0, 0, 0, 2])
BROADCAST = b"\xff" * 6


def pcnet():
    # The target's init path (first byte odd): SWSTYLE from the second byte, MODE 0 (normal
    # operation), eight RX descriptors of 1536 bytes and eight TX descriptors of 60 bytes owned
    # by the chip with STP|ENP; then INIT|STRT|IENA happens in the target.
    def init(style, mode=(0, 0)):
        out = bytearray([1, style, mode[0], mode[1]])
        for _ in range(8):
            out += le16(1535)  # RX BCNT (the target negates it)
            out += le16(59) + bytes([0x03, 0])  # TX: 60 bytes, STP|ENP, no ERR bit
        return out

    def write_reg(offset, value):  # op 0: a 16-bit register write
        return bytes([0, offset, 1]) + le16(value)

    def read_reg(offset):  # op 2: a 16-bit register read
        return bytes([2, offset, 1])

    def csr(number, value):
        return write_reg(0x12, number) + write_reg(0x10, value)

    frame_in = bytes([5]) + le16(60) + bytes([0x5A, 1])  # a 60-byte broadcast frame arrives
    # Transmit: TDMD|IENA, the transmit walk, the interrupt read and acknowledged.
    transmit = csr(0, 0x0048) + bytes([7]) + read_reg(0x10) + write_reg(0x10, 0x0F00 | 0x40)
    write("pcnet", "init-32bit-transmit", init(2) + transmit + bytes([6]))
    write("pcnet", "init-16bit-receive", init(0) + frame_in + bytes([6]) + read_reg(0x10))
    write("pcnet", "init-swstyle3-both", init(3) + transmit + frame_in + frame_in + bytes([6]))
    # Internal loopback (MODE LOOP|INTL), the chip receiving what it sends.
    write("pcnet", "init-internal-loopback", init(2, (0x44, 0)) + transmit + bytes([6, 7, 6]))
    # The kick optimization's silent writes: two TDMD writes KVM absorbed, resolved later.
    silent = op_code(10, 9, lambda op: op & 0x40 and not op & 0x80)
    write("pcnet", "init-silent-writes", init(2) + bytes([silent, 1, 2, 6]))
    # Stop, reset through the RESET register's read, link down and up.
    write("pcnet", "stop-reset-link", init(2) + csr(0, 0x0004) + read_reg(0x14) +
          bytes([8, 0, 8, 1, op_code(10, 9, lambda op: op & 0x80)]))


def dhcp_server():
    def client(type_byte, who, xid, fields, extra=b""):
        return bytes([0, type_byte, who]) + struct.pack("<I", xid)  # FuzzInput.dword(): little-endian + bytes([fields]) + extra

    discover = client(0, 2, 0x1234, 0)  # type 1 + 0 % 8: DISCOVER from 52:54:00:00:00:02
    # REQUEST (type 3) naming a pool address (pick 0 -> 192.168.77.128+) and the server.
    request = client(2, 2, 0x1234, 2 | 4 | 8, bytes([0]))
    release = client(6, 2, 0x1235, 1, bytes([0]))  # RELEASE (type 7) of ciaddr
    write("dhcp_server", "discover-request", discover + request)
    write("dhcp_server", "discover-request-release", discover + request + release)
    # The reserved client (52:54:00:00:00:01 -> .50) and a lease kept across a lease-file
    # round trip, then time running past the lease.
    write("dhcp_server", "reservation-roundtrip",
          client(0, 1, 7, 0) + client(2, 1, 7, 2 | 4 | 8, bytes([1])) +
          bytes([8, op_code(10, 7, lambda op: op & 0x80), 5]))
    # A real DISCOVER frame as udhcpc sends it, raw (op 6 takes 8 * N bytes).
    frame = dhcp_discover(MAC_B, 0xCAFE)
    frame += b"\0" * (-len(frame) % 8)
    write("dhcp_server", "raw-udhcpc-discover", bytes([6, len(frame) // 8]) + frame)
    # A leases file as text (op 9 takes 4 * N bytes).
    text = b'{"leases":[{"mac":"52:54:00:00:00:03","ip":"192.168.77.130","expires":1800000100}]}'
    text += b" " * (-len(text) % 4)
    write("dhcp_server", "lease-file-text", bytes([9, len(text) // 4]) + text)


def framed(frame):
    return struct.pack(">I", len(frame)) + frame


def stream_framing():
    frames = framed(ethernet(BROADCAST, MAC_A)) + framed(ethernet(MAC_A, MAC_B, body=b"x" * 100))
    max_frame = 1514 - 1
    header = lambda mode: bytes([mode, max_frame & 0xFF, max_frame >> 8])
    write("stream_framing", "two-frames-fed", header(0) + frames)
    write("stream_framing", "two-frames-writable", header(8) + frames)
    write("stream_framing", "two-frames-cut", header(0) + frames[:-10])
    write("stream_framing", "zero-length", header(0) + framed(ethernet(BROADCAST, MAC_A)) + bytes(4))
    write("stream_framing", "oversize", header(4) + struct.pack(">I", 65536) + b"x" * 64)
    # Records (mode bit 0): a length byte then that many body bytes.
    write("stream_framing", "records", header(1) + bytes([60]) + ethernet(BROADCAST, MAC_A) +
          bytes([14]) + ethernet(MAC_A, MAC_B)[:14])


def stream_backend():
    write("stream_backend", "frames", bytes([0, 7]) + bytes([4, 5, 100, 115, 3]))
    write("stream_backend", "runts-then-frames", bytes([0, 9]) + bytes([0, 1, 0, 200, 50]))
    write("stream_backend", "zero-length-end", bytes([1, 3]) + bytes([10, 20, 0xFF, 30]))
    write("stream_backend", "oversize-end", bytes([2, 5]) + bytes([10, 0xFE]))
    write("stream_backend", "cut-mid-frame", bytes([4, 11]) + bytes([10, 20, 30, 40]))


def switch_port():
    # The peer's stream in pieces of (1 + first byte % 200) bytes: a DISCOVER to the switch's
    # DHCP port, then a unicast frame, then a frame cut off by the end of the input.
    stream = framed(dhcp_discover(MAC_A, 0x42)) + framed(ethernet(MAC_B, MAC_A, body=b"y" * 80))
    stream += struct.pack(">I", 1000) + b"z" * 100

    def pieces(data, size):
        out = bytearray()
        for at in range(0, len(data), size):
            chunk = data[at:at + size]
            out += bytes([len(chunk) - 1]) + chunk
        return out

    write("switch_port", "dhcp-and-unicast-whole", pieces(stream, 200))
    write("switch_port", "dhcp-and-unicast-split", pieces(stream, 7))
    write("switch_port", "zero-length", pieces(struct.pack(">I", 0), 4))


def switch_fabric():
    config = bytes([20, 4, 10])  # 21 entries, 5 per port, 11 s max age

    def station(number):  # a kind byte below 160 names 52:54:00:00:00:NN
        return bytes([number])

    def any_address(mac):  # a kind byte of 160 or more, then the six bytes
        return bytes([200]) + mac

    def forward(in_port_index, destination, source):
        # op 4 (the default case): a live port by index, the destination, the source; 60 bytes.
        return bytes([4, in_port_index]) + destination + source

    add3 = bytes([0, 0, 0])
    learn = (forward(0, any_address(BROADCAST), station(1)) + forward(1, station(1), station(2)) +
             forward(0, station(2), station(1)))
    write("switch_fabric", "learn-and-unicast", config + add3 + learn)
    write("switch_fabric", "age-out",
          config + add3 + learn + bytes([2, 7, 2, 7, 3]) + forward(2, station(1), station(3)))
    write("switch_fabric", "port-removed",
          config + add3 + learn + bytes([1, 0]) + forward(1, station(1), station(2)))
    flood = b"".join(forward(0, any_address(BROADCAST), station(3 + i)) for i in range(10))
    write("switch_fabric", "mac-flood", config + add3 + flood)


def uart16550():
    def w(offset, value):  # op 1, width 1
        return bytes([1 | offset << 2]) + bytes([value])

    def r(offset):  # op 0, width 1
        return bytes([offset << 2])

    # Linux's 8250 probe and set-up: scratch test, DLAB and 115200 baud, 8N1, FIFOs, IER.
    setup = (w(7, 0xA5) + r(7) + w(3, 0x80) + w(0, 1) + w(1, 0) + w(3, 0x03) + w(2, 0x07) +
             w(4, 0x0B) + w(1, 0x0F) + r(2) + r(5))
    text = b"".join(bytes([3, c]) for c in b"Linux version\n")
    write("uart16550", "linux-setup-and-output", setup + text + r(2))
    # Host input filling the FIFO past its room, the guest draining it, more input accepted.
    host = bytes([2, 20]) + b"typed at the console" + r(5) + r(0) * 17 + bytes([2, 3]) + b"ls\n"
    write("uart16550", "console-input", setup + host)
    # Loopback (MCR bit 4): what is sent comes back; modem status deltas.
    write("uart16550", "loopback", setup + w(4, 0x1F) + bytes([3, 0x41]) + r(5) + r(0) + r(6) +
          w(4, 0x0B) + r(6))
    panic = b"".join(bytes([3, c]) for c in b"Kernel panic - not syncing: VFS\n")
    write("uart16550", "kernel-panic", setup + panic)


def pci_config():
    # Identity: command bits IO|MEM|MASTER; BARs: an I/O BAR of 32 at 0, a 64-bit prefetchable
    # memory BAR of 16 KiB at 2; one vendor capability of 8 bytes, MSI-X with 3 vectors.
    head = le16(0x0007) + bytes([2, 0, 5, (2 << 3) | 1 | 2 | 4, 14]) + bytes([1, 8]) + bytes(8) + le16(2)

    widths = {1: 0, 2: 1, 4: 2}

    def cfg_write(offset, value, width=4):  # op 0 anywhere in the 256 bytes (bit 7)
        op = op_code(6, 0, lambda op: op & 0x80 and (op >> 4) % 3 == widths[width])
        return bytes([op, offset]) + value.to_bytes(width, "little")

    def cfg_read(offset, width=4):
        return bytes([op_code(6, 1, lambda op: (op >> 4) % 3 == widths[width]), offset])

    def msix_entry(vector, address, data, masked):  # op 3: a whole table entry
        return bytes([3]) + le16(vector) + le32(address) + le32(address >> 32) + le32(data) + \
            bytes([masked])

    def pending(vector, pba_offset):  # op 4: a pending bit set, then a PBA read (width 1)
        return bytes([op_code(6, 4, lambda op: (op >> 4) % 3 == 0)]) + le16(vector) + \
            bytes([1]) + le16(pba_offset)

    # Firmware-style sizing and placement: all ones, read back, base, decode on.
    sizing = (cfg_write(0x10, 0xFFFFFFFF) + cfg_read(0x10) + cfg_write(0x10, 0xC000) +
              cfg_write(0x18, 0xFFFFFFFF) + cfg_write(0x1C, 0xFFFFFFFF) + cfg_read(0x18) +
              cfg_write(0x18, 0xFEB00000) + cfg_write(0x1C, 0) + cfg_write(0x04, 0x0007, 2))
    write("pci_config", "bar-sizing-and-decode", head + sizing)
    # MSI-X (its capability at 0x4C, after the vendor one at 0x40): find it, program vector 1,
    # enable through Message Control, a pending bit, then the function masked.
    find_msix = bytes([5, 0x11, 0])
    msix = (find_msix + msix_entry(1, 0xFEE00000, 0x4021, 0) + cfg_write(0x4E, 0x8000, 2) +
            pending(1, 0) + cfg_write(0x4E, 0xC000, 2) + msix_entry(2, 0xFEE01000, 0x4022, 1))
    write("pci_config", "msix-program-and-enable", head + sizing + msix)
    # A 64-bit BAR moved above 4 GiB, and an I/O BAR moved while decoding.
    write("pci_config", "bar-above-4g",
          head + sizing + cfg_write(0x1C, 0x1) + cfg_write(0x10, 0xD000))


def elf_kernel():
    def elf(segments, entry):
        phoff = 64
        header = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) +
                  struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, phoff, 0, 0, 64, 56,
                              len(segments), 64, 0, 0))
        data_at = phoff + 56 * len(segments)
        table, body = b"", b""
        for paddr, content, memsz in segments:
            table += struct.pack("<IIQQQQQQ", 1, 7, data_at + len(body), 0xFFFFFFFF80000000 + paddr,
                                 paddr, len(content), memsz, 0x200000)
            body += content
        return header + table + body

    code = b"\xf4\xeb\xfd"  # hlt; jmp .
    write("elf_kernel", "one-segment", elf([(0x1000000, code + bytes(61), 0x1000)], 0x1000000))
    write("elf_kernel", "text-and-bss", elf([(0x1000000, code + bytes(125), 128),
                                             (0x1200000, b"data" * 16, 0x10000)], 0x1000000))


def initrd():
    def case(shape, *values):
        out = bytes([shape])
        for i, v in enumerate(values):
            out += struct.pack("<I" if shape >> i & 1 else "<Q", v)
        return out

    # The default image's case: 2 MiB initrd, kernel to 0x2A00000, initrd_addr_max 0x7FFFFFFF,
    # 256 MiB of RAM (as 32-bit values: shape bits 0-3 set), 64 MiB guest.
    write("initrd", "default-image", case(0x0F, 2 << 20, 0x2A00000, 0x7FFFFFFF, 256 << 20))
    write("initrd", "too-large", case(0x1F, 300 << 20, 0x2A00000, 0x7FFFFFFF, 256 << 20))
    write("initrd", "addr-max-all-ones", case(0x33, 1 << 20, 0x1000000, 0xFFFFFFFFFFFFFFFF, 3 << 30))


def nic_options():
    words = [
        ["--nic", "pcnet"],
        ["--nic", "virtio,net=tap:tap0,mac=52:54:00:ab:cd:ef,vhost=auto"],
        ["--nic", "pcnet,net=10.0.3.0/24,hostfwd=tcp::8080-:80,hostfwd=udp::5353-:53,restrict=on"],
        ["--nic", "pcnet,net=stream:/tmp/wire.sock,reconnect=1", "--nic", "virtio,net=switch:lab"],
        ["--nic", "pcnet,net=dgram:/tmp/a.sock,/tmp/b.sock,pcap=/tmp/x.pcap"],
        ["--nic", "pcnet,net=stream-listen:/tmp/wire.sock", "--nic-opt", "ports,combine,kick"],
        ["--nic-opt", "baseline", "--mem", "512", "--cpus", "2", "--run", "uname -r"],
        ["--nic", "virtio,net=user,ipv6=on,dns=10.0.2.3", "--nic-opt", "all", "-v"],
    ]
    for i, argv in enumerate(words):
        write("nic_options", "argv-%d" % i, "\n".join(argv).encode())


if __name__ == "__main__":
    for make in (pcnet, dhcp_server, stream_framing, stream_backend, switch_port, switch_fabric,
                 uart16550, pci_config, elf_kernel, initrd, nic_options):
        make()
