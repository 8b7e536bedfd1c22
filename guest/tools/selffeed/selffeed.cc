// selffeed: a hostile guest's PCnet, from guest userspace. It puts the PCnet-PCI II in internal
// loopback with its receive buffer aliased onto its own descriptor rings, so every looped-back
// frame is an image of both rings with OWN set and hands the transmit ring back to the chip: the
// chip has work forever while the guest does nothing. Then it sleeps, reading CSR0 once a
// millisecond (a sleeping guest's timer interrupt might), and prints how long those reads took.
// Issue 10 measured this layout keeping hvmm's I/O thread at 86-88% of a CPU; the lab check
// (tests/lab/hvmm_checks.sh, pcnet_self_feeding_bounded) measures hvmm from outside meanwhile.
//
// The layout is tests/unit/pcnet_self_feeding_ring.h's, in three pages of this process that it
// locks and finds the physical addresses of (/proc/self/pagemap, which needs root):
//   rings:    64 transmit then 64 receive descriptors (SWSTYLE 2, 16 bytes each); every receive
//             descriptor's buffer is this page, so receiving a frame writes the armed image back
//   frame:    what every transmit descriptor sends: the armed rings' image, padded
//   init:     the initialization block (PROM | INTL | LOOP)
// The chip runs without IENA (no interrupts: its driver is unbound). At the end it is stopped and
// pcnet32 is bound again, whose probe resets it.
#include <fcntl.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "../iotime/pcnet_device.h"
#include "../iotime/port_io.h"
#include "../lib/pagemap.h"

namespace {

using iotime::in16;
using iotime::out16;

// 16-bit WIO offsets in the PCnet window (the mode after reset).
constexpr uint16_t kRdp = 0x10, kRap = 0x12, kReset = 0x14, kBdp = 0x16;
constexpr uint32_t kDescriptors = 64;  // 2^6 in each ring
constexpr uint32_t kRingLog2 = 6;
constexpr uint32_t kRingBytes = 2 * kDescriptors * 16;
constexpr size_t kPage = 4096;
constexpr uint16_t kOwn = 0x8000, kStp = 0x0200, kEnp = 0x0100;
constexpr uint16_t kCsr0Init = 0x0001, kCsr0Strt = 0x0002, kCsr0Stop = 0x0004, kCsr0Idon = 0x0100;
constexpr uint16_t kCsr0Tint = 0x0200, kCsr0Rint = 0x0400;

uint16_t g_base = 0;  // the chip's I/O window, once it is ours
// Set while pcnet32 is unbound: a failure from then on stops the chip and gives it back, so a
// failed run does not leave the guest without its NIC.
std::optional<iotime::PcnetDevice> g_give_back;

[[noreturn]] void fail(const std::string& message) {
    fprintf(stderr, "selffeed: %s\n", message.c_str());
    if (g_give_back) {
        if (g_base != 0)
            (void)in16(g_base + kReset);  // a read of RESET stops the chip
        std::string error;
        iotime::rebind_driver(*g_give_back, g_give_back->driver, &error);
    }
    exit(1);
}

void write_csr(uint16_t index, uint16_t value) {
    out16(g_base + kRap, index);
    out16(g_base + kRdp, value);
}
uint16_t read_csr(uint16_t index) {
    out16(g_base + kRap, index);
    return in16(g_base + kRdp);
}
void write_bcr(uint16_t index, uint16_t value) {
    out16(g_base + kRap, index);
    out16(g_base + kBdp, value);
}

void put32(uint8_t* at, uint32_t value) {
    memcpy(at, &value, 4);
}

// The armed rings' image: transmit descriptors send `frame`, receive descriptors fill `rings`.
void write_armed_image(uint8_t* out, uint32_t rings, uint32_t frame, uint16_t frame_length) {
    auto bcnt = [](uint32_t size) { return 0xF000u | ((0u - size) & 0x0FFFu); };
    for (uint32_t i = 0; i < kDescriptors; ++i) {
        put32(out + i * 16, frame);
        put32(out + i * 16 + 4, (uint32_t{kOwn | kStp | kEnp} << 16) | bcnt(frame_length));
        put32(out + (kDescriptors + i) * 16, rings);
        put32(out + (kDescriptors + i) * 16 + 4, (uint32_t{kOwn} << 16) | bcnt(frame_length + 4u));
    }
}

double now_us() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// PCI command register: I/O space and bus master on (an unbound function may have both off).
void enable_io_and_bus_master(const iotime::PcnetDevice& dev) {
    const std::string path = "/sys/bus/pci/devices/" + dev.pci_address + "/config";
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    uint16_t command = 0;
    if (fd < 0 || pread(fd, &command, 2, 4) != 2)
        fail("cannot read " + path);
    command |= 0x0001 | 0x0004;
    if (pwrite(fd, &command, 2, 4) != 2)
        fail("cannot write " + path);
    close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? atof(argv[1]) : 10.0;
    const long frame_length = argc > 2 ? atol(argv[2]) : 4000;
    if (seconds <= 0 || frame_length < kRingBytes || frame_length > 4092) {
        fprintf(stderr,
                "usage: selffeed [SECONDS [FRAME_LENGTH (%u..4092)]]   (defaults 10 and 4000)\n",
                kRingBytes);
        return 2;
    }
    std::string error;
    auto dev = iotime::find_pcnet(&error);
    if (!dev)
        fail(error);
    if (!dev->driver.empty() && !iotime::unbind_driver(*dev, &error))
        fail(error);
    if (!dev->driver.empty())
        g_give_back = *dev;
    enable_io_and_bus_master(*dev);
    if (ioperm(dev->bar0.start, 0x20, 1) != 0)
        fail(std::string("ioperm: ") + strerror(errno));
    g_base = static_cast<uint16_t>(dev->bar0.start);

    auto* pages = static_cast<uint8_t*>(
        mmap(nullptr, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (pages == MAP_FAILED || mlock(pages, 3 * kPage) != 0)
        fail("cannot lock three pages");
    memset(pages, 0, 3 * kPage);
    uint8_t* rings = pages;
    uint8_t* frame = pages + kPage;
    uint8_t* init = pages + 2 * kPage;
    const uint64_t rings_pa = guest_tools::physical_address(rings, fail),
                   frame_pa = guest_tools::physical_address(frame, fail),
                   init_pa = guest_tools::physical_address(init, fail);
    if (std::max({rings_pa, frame_pa, init_pa}) >= (uint64_t{1} << 32))
        fail("a page is above 4 GiB: the 32-bit descriptors cannot reach it");
    const auto length = static_cast<uint16_t>(frame_length);
    write_armed_image(frame, static_cast<uint32_t>(rings_pa), static_cast<uint32_t>(frame_pa),
                      length);
    memcpy(rings, frame, kRingBytes);

    // SWSTYLE 2 initialization block: MODE, lengths, PADR, LADRF, RDRA, TDRA.
    const uint16_t mode = 0x8044;  // PROM | INTL | LOOP
    memcpy(init, &mode, 2);
    const uint16_t lengths = static_cast<uint16_t>((kRingLog2 << 12) | (kRingLog2 << 4));
    memcpy(init + 2, &lengths, 2);
    const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x5e, 0x1f, 0xfe};
    memcpy(init + 4, mac, 6);
    put32(init + 20, static_cast<uint32_t>(rings_pa + kDescriptors * 16));
    put32(init + 24, static_cast<uint32_t>(rings_pa));

    (void)in16(g_base + kReset);  // a read of RESET resets the chip: 16-bit WIO, stopped
    write_bcr(20, 2);             // SWSTYLE 2: 32-bit descriptors and init block
    write_csr(1, static_cast<uint16_t>(init_pa));
    write_csr(2, static_cast<uint16_t>(init_pa >> 16));
    write_csr(4, 0x0915);
    write_csr(0, kCsr0Init);
    for (int i = 0; i < 1000 && !(read_csr(0) & kCsr0Idon); ++i) usleep(100);
    if (!(read_csr(0) & kCsr0Idon))
        fail("the chip never reported IDON");
    write_csr(0, kCsr0Strt);  // no IENA: no interrupts while its driver is away
    usleep(100 * 1000);
    const uint16_t running = read_csr(0);
    printf("selffeed-started csr0=0x%04x%s\n", running,
           (running & (kCsr0Tint | kCsr0Rint)) == (kCsr0Tint | kCsr0Rint)
               ? " (frames looping: TINT and RINT set)"
               : " (TINT/RINT not both set)");
    fflush(stdout);

    // The guest sleeps; its timer reads CSR0 once a millisecond.
    out16(g_base + kRap, 0);
    std::vector<double> waits;
    const double end = now_us() + seconds * 1e6;
    while (now_us() < end) {
        usleep(1000);
        const double t0 = now_us();
        (void)in16(g_base + kRdp);
        waits.push_back(now_us() - t0);
    }
    std::sort(waits.begin(), waits.end());
    auto at = [&waits](double p) {
        return waits.empty() ? 0.0 : waits[static_cast<size_t>(p * (waits.size() - 1))];
    };
    const uint16_t csr0 = read_csr(0);
    write_csr(0, kCsr0Stop);
    printf(
        "selffeed-done %.1f s, csr0=0x%04x; CSR0 reads %zu: median %.1f us, p99 %.1f us, "
        "max %.1f us\n",
        seconds, csr0, waits.size(), at(0.5), at(0.99), at(1.0));
    g_give_back.reset();
    if (!dev->driver.empty() && !iotime::rebind_driver(*dev, dev->driver, &error))
        fail(error);
    return 0;
}
