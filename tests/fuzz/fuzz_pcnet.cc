// Fuzz target for the PCnet chip: the input is a script of register accesses, DMA memory
// pokes and backend events against a chip wired to small fake guest RAM. It must never crash,
// hang, or touch memory outside that RAM (run under ASan/UBSan to check the last).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/checked.h"
#include "base/log.h"
#include "devices/pcnet/pcnet_chip.h"

namespace {

using hvmm::DmaSpace;

// Guest RAM of 64 KiB at address 0: small, so random addresses often land inside it.
class FuzzDma final : public DmaSpace {
public:
    bool read(uint64_t address, std::span<uint8_t> out) override {
        if (!hvmm::range_within(address, out.size(), ram.size())) return false;
        std::copy_n(ram.begin() + static_cast<std::ptrdiff_t>(address), out.size(), out.begin());
        return true;
    }
    bool write(uint64_t address, std::span<const uint8_t> in) override {
        if (!hvmm::range_within(address, in.size(), ram.size())) return false;
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
        if (sink_ == nullptr || depth_ > 0) return;
        ++depth_;
        std::vector<uint8_t> bytes;
        for (const iovec& part : frame) {
            const auto* p = static_cast<const uint8_t*>(part.iov_base);
            bytes.insert(bytes.end(), p, p + part.iov_len);
        }
        if (sink_->can_receive()) sink_->receive(bytes);
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

class Reader {
public:
    explicit Reader(std::span<const uint8_t> data) : data_(data) {}
    bool empty() const { return pos_ >= data_.size(); }
    uint8_t byte() { return pos_ < data_.size() ? data_[pos_++] : 0; }
    uint16_t word() { return static_cast<uint16_t>(byte() | (byte() << 8)); }
    uint32_t dword() { return word() | (uint32_t{word()} << 16); }
    std::span<const uint8_t> bytes(size_t n) {
        n = std::min(n, data_.size() - std::min(pos_, data_.size()));
        auto out = data_.subspan(pos_, n);
        pos_ += n;
        return out;
    }

private:
    std::span<const uint8_t> data_;
    size_t pos_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool quiet = [] {
        hvmm::log::set_level(hvmm::log::Level::kError);  // guest warnings are expected here
        return true;
    }();
    (void)quiet;
    FuzzDma dma;
    NullIrq irq;
    EchoBackend backend;
    hvmm::PcnetChip chip(dma, irq, &backend, hvmm::MacAddress{{0x52, 0x54, 0, 0x12, 0x34, 0x56}});
    backend.set_sink(&chip);
    Reader in(std::span(data, size));
    // Start from a plausible state half the time so the data path is reached quickly.
    if (in.byte() & 1) {
        auto w16 = [&](uint64_t offset, uint16_t v) {
            const std::array<uint8_t, 2> b{uint8_t(v), uint8_t(v >> 8)};
            chip.write(offset, b);
        };
        w16(0x12, 20);
        w16(0x16, in.byte() & 3);
        w16(0x12, 1);
        w16(0x10, 0x0100);  // init block at 0x100
        w16(0x12, 0);
        w16(0x10, 0x0003);  // INIT | STRT
    }
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
            case 4: {  // guest writes memory: descriptors, init block, buffers
                const uint32_t address = in.word() & 0xFFFF;
                const auto bytes = in.bytes(in.byte() % 64);
                dma.write(address, bytes);
                break;
            }
            case 5: {  // a frame arrives from the backend
                const size_t length = in.word() % 5000;
                std::vector<uint8_t> frame(length, in.byte());
                if (length >= 6 && in.byte() & 1) std::fill_n(frame.begin(), 6, 0xFF);
                if (chip.can_receive() || (op & 0x80)) chip.receive(frame);
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
                if (op & 0x80) chip.reset();
                break;
        }
    }
    (void)chip.counters();
    return 0;
}
