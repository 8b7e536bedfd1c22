// Fuzz target for the PCnet chip: the input is a script of register accesses, DMA memory
// pokes and backend events against a chip wired to small fake guest RAM. It must never crash,
// hang, or touch memory outside that RAM (run under ASan/UBSan to check the last).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <utility>
#include <vector>

#include "base/checked.h"
#include "base/log.h"
#include "devices/pcnet/pcnet_chip.h"
#include "fuzz_input.h"

namespace {

using hvmm::fuzz::FuzzInput;

using hvmm::DmaSpace;

// Guest RAM of 64 KiB at address 0: small, so random addresses often land inside it.
class FuzzDma final : public DmaSpace {
  public:
    bool read(uint64_t address, std::span<uint8_t> out) override {
        if (!hvmm::range_within(address, out.size(), ram.size()))
            return false;
        std::copy_n(ram.begin() + static_cast<std::ptrdiff_t>(address), out.size(), out.begin());
        return true;
    }
    bool write(uint64_t address, std::span<const uint8_t> in) override {
        if (!hvmm::range_within(address, in.size(), ram.size()))
            return false;
        std::copy(in.begin(), in.end(), ram.begin() + static_cast<std::ptrdiff_t>(address));
        return true;
    }
    std::vector<uint8_t> ram = std::vector<uint8_t>(64 * 1024);
};

class NullIrq final : public hvmm::IrqLine {
  public:
    void set_level(bool) override {}
};

// Loops sent frames straight back into the chip, like a hostile or echoing peer.
class EchoBackend final : public hvmm::NetBackend {
  public:
    void send(std::span<const iovec> frame) override {
        if (sink_ == nullptr || depth_ > 0)
            return;
        ++depth_;
        std::vector<uint8_t> bytes;
        for (const iovec& part : frame) {
            const auto* p = static_cast<const uint8_t*>(part.iov_base);
            bytes.insert(bytes.end(), p, p + part.iov_len);
        }
        if (sink_->can_receive())
            sink_->receive(bytes);
        --depth_;
    }
    using NetBackend::send;
    void set_sink(hvmm::FrameSink* sink) override { sink_ = sink; }
    int receive_fd() const override { return -1; }
    size_t poll_receive() override { return 0; }
    bool link_up() const override { return true; }
    std::string_view describe() const override { return "echo"; }
    hvmm::NetBackendStats stats() const override { return {}; }

  private:
    hvmm::FrameSink* sink_ = nullptr;
    int depth_ = 0;
};

// With FUZZ_PCNET_STATS set, how often the data path was reached, so a change to the input
// format that stops exercising it shows.
struct Totals {
    uint64_t tx = 0, rx = 0, loopback = 0, miss = 0, merr_drops = 0;
    ~Totals() {
        if (std::getenv("FUZZ_PCNET_STATS")) {
            std::fprintf(stderr, "tx %llu rx %llu loopback %llu miss %llu dma-drops %llu\n",
                         (unsigned long long)tx, (unsigned long long)rx,
                         (unsigned long long)loopback, (unsigned long long)miss,
                         (unsigned long long)merr_drops);
        }
    }
};
Totals g_totals;

// The silent writes the input says KVM took (the "kick" optimization), for the chip to fetch.
class SilentWriteEvents final : public hvmm::PcnetEvents {
  public:
    hvmm::PcnetSilentWrites fetch_silent_writes() override { return std::exchange(pending, {}); }
    hvmm::PcnetSilentWrites pending;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    hvmm::fuzz::quiet_logs();
    FuzzDma dma;
    NullIrq irq;
    EchoBackend backend;
    SilentWriteEvents events;
    hvmm::PcnetChip chip(dma, irq, &backend, hvmm::MacAddress{{0x52, 0x54, 0, 0x12, 0x34, 0x56}},
                         events);
    backend.set_sink(&chip);
    FuzzInput in(data, size);
    // Start from a plausible state half the time so the data path is reached quickly: a
    // 32-bit init block at 0x100 with 8-entry rings at 0x200 (RX) and 0x400 (TX).
    constexpr uint32_t kInitBlock = 0x100, kRxRing = 0x200, kTxRing = 0x400;
    if (in.byte() & 1) {
        auto w16 = [&](uint64_t offset, uint16_t v) {
            const std::array<uint8_t, 2> b{uint8_t(v), uint8_t(v >> 8)};
            chip.write(offset, b);
        };
        const uint8_t style = in.byte() & 3;
        const bool wide = style >= 2;
        if (wide) {
            const std::array<uint8_t, 28> block{0,
                                                0,
                                                0x30,
                                                0x30,
                                                0x52,
                                                0x54,
                                                0,
                                                0x12,
                                                0x34,
                                                0x56,
                                                0,
                                                0,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                uint8_t(kRxRing),
                                                uint8_t(kRxRing >> 8),
                                                0,
                                                0,
                                                uint8_t(kTxRing),
                                                uint8_t(kTxRing >> 8),
                                                0,
                                                0};
            dma.write(kInitBlock, block);
        } else {
            const std::array<uint8_t, 24> block{0,
                                                0,
                                                0x52,
                                                0x54,
                                                0,
                                                0x12,
                                                0x34,
                                                0x56,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                0xFF,
                                                uint8_t(kRxRing),
                                                uint8_t(kRxRing >> 8),
                                                0,
                                                0x60,
                                                uint8_t(kTxRing),
                                                uint8_t(kTxRing >> 8),
                                                0,
                                                0x60};
            dma.write(kInitBlock, block);
        }
        // MODE: loopback, disables, FCS and filter bits from the input.
        const std::array<uint8_t, 2> mode{uint8_t(in.byte() & 0x4F), uint8_t(in.byte() & 0xE0)};
        dma.write(kInitBlock, mode);
        // Eight descriptors each way, pointing into RAM, with input-chosen sizes and flags.
        for (uint32_t i = 0; i < 8; ++i) {
            for (const bool receive : {true, false}) {
                const uint32_t buffer = (receive ? 0x1000 : 0x6000) + i * 0x800;
                const uint16_t bcnt =
                    static_cast<uint16_t>(0xF000 | (-(in.word() % 2048 + 1) & 0xFFF));
                const uint8_t flags = receive ? 0x80 : (0x80 | (in.byte() & 0x03) << 0 | 0x02);
                const uint8_t status =
                    receive ? flags : static_cast<uint8_t>(flags | (in.byte() & 1));
                const uint32_t ring = receive ? kRxRing : kTxRing;
                std::array<uint8_t, 16> d{};
                if (wide) {
                    const size_t at = style == 2 ? 0 : 8;
                    for (int b = 0; b < 4; ++b) d[at + b] = uint8_t(buffer >> (8 * b));
                    d[4] = uint8_t(bcnt);
                    d[5] = uint8_t(bcnt >> 8);
                    d[7] = status;
                    dma.write(ring + i * 16, d);
                } else {
                    d[0] = uint8_t(buffer);
                    d[1] = uint8_t(buffer >> 8);
                    d[2] = uint8_t(buffer >> 16);
                    d[3] = status;
                    d[4] = uint8_t(bcnt);
                    d[5] = uint8_t(bcnt >> 8);
                    dma.write(ring + i * 8, std::span(d.data(), 8));
                }
            }
        }
        w16(0x12, 20);
        w16(0x16, style);
        w16(0x12, 1);
        w16(0x10, kInitBlock);
        w16(0x12, 0);
        w16(0x10, 0x0043);  // INIT | STRT | IENA
    }
    hvmm::PcnetSilentWrites& silent = events.pending;
    for (int step = 0; step < 256 && !in.empty(); ++step) {
        const uint8_t op = in.byte();
        switch (op % 10) {
            case 0:
            case 1: {  // register write of width 1, 2, 4 or 8
                const uint64_t offset = in.byte() % 0x24;
                const size_t width = size_t{1} << (in.byte() % 4);
                std::array<uint8_t, 8> value{};
                for (size_t i = 0; i < width; ++i) value[i] = in.byte();
                chip.write(offset, std::span(value.data(), width));
                break;
            }
            case 2: {  // register read
                const uint64_t offset = in.byte() % 0x24;
                std::array<uint8_t, 8> value{};
                chip.read(offset, std::span(value.data(), size_t{1} << (in.byte() % 4)));
                break;
            }
            case 3:
            case 4: {  // guest writes memory: mostly the rings, sometimes anywhere
                static constexpr std::array<uint32_t, 3> kRegions{kRxRing, kTxRing, kInitBlock};
                const uint8_t where = in.byte();
                const uint32_t address =
                    (where & 3) == 3 ? in.word() : kRegions[where & 3] + (in.byte() & 0x7F);
                const auto bytes = in.bytes(in.byte() % 64);
                dma.write(address, bytes);
                break;
            }
            case 5: {  // a frame arrives from the backend
                const size_t length = in.word() % 5000;
                std::vector<uint8_t> frame(length, in.byte());
                if (length >= 6 && in.byte() & 1)
                    std::fill_n(frame.begin(), 6, 0xFF);
                if (chip.can_receive() || (op & 0x80))
                    chip.receive(frame);
                break;
            }
            case 6:
                chip.poll();
                break;
            case 7:
                chip.process_transmit_ring();
                break;
            case 8:
                chip.set_link_up(in.byte() & 1);
                break;
            case 9:
                if (op & 0x80) {
                    chip.reset();
                } else {
                    // The kick optimization's silent writes (KVM took them): any counts, then
                    // resolved from the "I/O thread" or left for the next register access.
                    silent.rap_zero += in.byte() & 3;
                    silent.transmit_demand += in.byte() & 3;
                    if (op & 0x40)
                        chip.resolve_silent_writes();
                }
                break;
        }
    }
    const auto c = chip.counters();
    g_totals.tx += c.tx_frames;
    g_totals.rx += c.rx_frames;
    g_totals.loopback += c.loopback_frames;
    g_totals.miss += c.rx_dropped_no_buffer;
    g_totals.merr_drops += c.tx_dropped_dma_error + c.rx_dropped_dma_error;
    return 0;
}
