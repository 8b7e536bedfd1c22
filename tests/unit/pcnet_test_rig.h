// A PcnetChip wired to fake guest RAM, a fake interrupt line and a fake backend, with the
// register and ring operations a driver performs, so each test reads like driver code.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "devices/pcnet/pcnet_chip.h"
#include "devices/pcnet/pcnet_descriptors.h"
#include "devices/pcnet/pcnet_events.h"
#include "fake_dma.h"
#include "fake_net_backend.h"
#include "irq/irq_line.h"

namespace hvmm::testing {

class FakeIrqLine final : public IrqLine {
  public:
    void set_level(bool asserted) override {
        level = asserted;
        ++calls;
    }
    bool level = false;
    int calls = 0;
};

// The VMM's side of the chip's events, recorded: how many demands, resumptions and layout
// changes the chip reported, and silent writes "KVM" took (pending) for the chip to fetch.
class RecordingPcnetEvents final : public PcnetEvents {
  public:
    bool take_transmit_demand() override {
        ++demands;
        return take_demands;
    }
    void receive_resumed() override { ++resumed; }
    void register_layout_changed() override { ++layout_changes; }
    PcnetSilentWrites fetch_silent_writes() override { return std::exchange(pending, {}); }

    // True: demands are only counted and the ring waits for a walk the test runs (as send
    // combining leaves it to the I/O thread); false: the chip walks at once.
    bool take_demands = false;
    int demands = 0;
    int resumed = 0;
    int layout_changes = 0;
    PcnetSilentWrites pending;
};

inline constexpr MacAddress kTestMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};

class PcnetRig {
  public:
    // Guest RAM layout used by every test.
    static constexpr uint64_t kRamSize = 1 << 20;
    static constexpr uint64_t kInitBlock = 0x1000;
    static constexpr uint64_t kRxRing = 0x2000;
    static constexpr uint64_t kTxRing = 0x4000;
    static constexpr uint64_t kRxBuffers = 0x10000;
    static constexpr uint64_t kTxBuffers = 0x60000;
    static constexpr uint64_t kBufferStride = 0x800;
    static constexpr uint16_t kBufferSize = 1544;  // pcnet32's PKT_BUF_SIZE

    PcnetRig() : chip(dma, irq, &backend, kTestMac, events) { backend.set_sink(&chip); }

    // 16-bit WIO register access, as pcnet32 does it.
    uint16_t read16(uint64_t offset) {
        std::array<uint8_t, 2> b{};
        chip.read(offset, b);
        return static_cast<uint16_t>(b[0] | (b[1] << 8));
    }
    void write16(uint64_t offset, uint16_t value) {
        const std::array<uint8_t, 2> b{static_cast<uint8_t>(value),
                                       static_cast<uint8_t>(value >> 8)};
        chip.write(offset, b);
    }
    uint32_t read32(uint64_t offset) {
        std::array<uint8_t, 4> b{};
        chip.read(offset, b);
        return b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t{b[3]} << 24);
    }
    void write32(uint64_t offset, uint32_t value) {
        const std::array<uint8_t, 4> b{
            static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
            static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
        chip.write(offset, b);
    }
    uint16_t csr(unsigned index) {
        write16(0x12, static_cast<uint16_t>(index));
        return read16(0x10);
    }
    void set_csr(unsigned index, uint16_t value) {
        write16(0x12, static_cast<uint16_t>(index));
        write16(0x10, value);
    }
    uint16_t bcr(unsigned index) {
        write16(0x12, static_cast<uint16_t>(index));
        return read16(0x16);
    }
    void set_bcr(unsigned index, uint16_t value) {
        write16(0x12, static_cast<uint16_t>(index));
        write16(0x16, value);
    }

    // Lays out a 32-bit init block (SWSTYLE 2 or 3) with 2^rx_log2 / 2^tx_log2 descriptors.
    void write_init_block32(unsigned rx_log2, unsigned tx_log2, uint16_t mode = 0,
                            uint64_t ladrf = 0) {
        dma.put16(kInitBlock + 0, mode);
        dma.put16(kInitBlock + 2, static_cast<uint16_t>((tx_log2 << 12) | (rx_log2 << 4)));
        dma.put(kInitBlock + 4, kTestMac.bytes);
        dma.put16(kInitBlock + 10, 0);
        dma.put32(kInitBlock + 12, static_cast<uint32_t>(ladrf));
        dma.put32(kInitBlock + 16, static_cast<uint32_t>(ladrf >> 32));
        dma.put32(kInitBlock + 20, kRxRing);
        dma.put32(kInitBlock + 24, kTxRing);
    }
    // Lays out a 16-bit init block (SWSTYLE 0): lengths are 3-bit log2 values.
    void write_init_block16(unsigned rx_log2, unsigned tx_log2, uint16_t mode = 0,
                            uint64_t ladrf = 0) {
        dma.put16(kInitBlock + 0, mode);
        dma.put(kInitBlock + 2, kTestMac.bytes);
        for (int i = 0; i < 4; ++i) {
            dma.put16(kInitBlock + 8 + 2 * i, static_cast<uint16_t>(ladrf >> (16 * i)));
        }
        dma.put16(kInitBlock + 16, static_cast<uint16_t>(kRxRing));
        dma.put16(kInitBlock + 18,
                  static_cast<uint16_t>((rx_log2 << 13) | ((kRxRing >> 16) & 0xFF)));
        dma.put16(kInitBlock + 20, static_cast<uint16_t>(kTxRing));
        dma.put16(kInitBlock + 22,
                  static_cast<uint16_t>((tx_log2 << 13) | ((kTxRing >> 16) & 0xFF)));
    }

    // pcnet32_open's order: style, init block address, CSR4, INIT, wait for IDON, STRT|IENA.
    void bring_up(pcnet::SoftwareStyle style = pcnet::SoftwareStyle::kPcnetPci,
                  unsigned rx_log2 = 4, unsigned tx_log2 = 4, uint16_t mode = 0,
                  uint64_t ladrf = 0) {
        style_ = style;
        rx_count_ = 1u << rx_log2;
        tx_count_ = 1u << tx_log2;
        set_bcr(20, static_cast<uint16_t>(style));
        if (pcnet::is_32bit(style)) {
            write_init_block32(rx_log2, tx_log2, mode, ladrf);
        } else {
            write_init_block16(rx_log2, tx_log2, mode, ladrf);
        }
        for (uint32_t i = 0; i < rx_count_; ++i) give_rx(i);
        set_csr(1, static_cast<uint16_t>(kInitBlock));
        set_csr(2, static_cast<uint16_t>(kInitBlock >> 16));
        set_csr(4, 0x0915);
        set_csr(0, 0x0001);  // INIT
        set_csr(0, 0x0042);  // STRT | IENA
    }

    size_t descriptor_size() const { return pcnet::descriptor_size(style_); }
    uint64_t rx_descriptor(uint32_t i) const { return kRxRing + i * descriptor_size(); }
    uint64_t tx_descriptor(uint32_t i) const { return kTxRing + i * descriptor_size(); }
    static uint64_t rx_buffer(uint32_t i) { return kRxBuffers + i * kBufferStride; }
    static uint64_t tx_buffer(uint32_t i) { return kTxBuffers + i * kBufferStride; }

    // Writes a descriptor in the current style. status holds the 32-bit styles' bits 31:16.
    void write_descriptor(uint64_t address, uint32_t buffer, uint16_t size, uint16_t status) {
        const uint16_t bcnt = static_cast<uint16_t>(0xF000 | ((-size) & 0x0FFF));
        switch (style_) {
            case pcnet::SoftwareStyle::kLance:
                dma.put16(address + 0, static_cast<uint16_t>(buffer));
                dma.put16(address + 2,
                          static_cast<uint16_t>((status & 0xFF00) | ((buffer >> 16) & 0xFF)));
                dma.put16(address + 4, bcnt);
                dma.put16(address + 6, 0);
                break;
            case pcnet::SoftwareStyle::kPcnetPci:
                dma.put32(address + 0, buffer);
                dma.put32(address + 4, (uint32_t{status} << 16) | bcnt);
                dma.put32(address + 8, 0);
                dma.put32(address + 12, 0);
                break;
            case pcnet::SoftwareStyle::kPcnetPciSwapped:
                dma.put32(address + 0, 0);
                dma.put32(address + 4, (uint32_t{status} << 16) | bcnt);
                dma.put32(address + 8, buffer);
                dma.put32(address + 12, 0);
                break;
        }
    }
    // The descriptor's status word in the normalized layout (bits 15:8 = OWN..ENP).
    uint16_t descriptor_status(uint64_t address) {
        if (style_ == pcnet::SoftwareStyle::kLance)
            return dma.get16(address + 2) & 0xFF00;
        return static_cast<uint16_t>(dma.get32(address + 4) >> 16);
    }
    uint16_t rx_status(uint32_t i) { return descriptor_status(rx_descriptor(i)); }
    uint16_t tx_status(uint32_t i) { return descriptor_status(tx_descriptor(i)); }
    // MCNT of a receive descriptor.
    uint16_t rx_message_count(uint32_t i) {
        const uint64_t d = rx_descriptor(i);
        switch (style_) {
            case pcnet::SoftwareStyle::kLance:
                return dma.get16(d + 6) & 0x0FFF;
            case pcnet::SoftwareStyle::kPcnetPci:
                return dma.get32(d + 8) & 0x0FFF;
            case pcnet::SoftwareStyle::kPcnetPciSwapped:
                return dma.get32(d + 0) & 0x0FFF;
        }
        return 0;
    }
    // Transmit error bits in style 0's TMD3 layout.
    uint16_t tx_errors(uint32_t i) {
        const uint64_t d = tx_descriptor(i);
        switch (style_) {
            case pcnet::SoftwareStyle::kLance:
                return dma.get16(d + 6) & 0xFC00;
            case pcnet::SoftwareStyle::kPcnetPci:
                return static_cast<uint16_t>(dma.get32(d + 8) >> 16);
            case pcnet::SoftwareStyle::kPcnetPciSwapped:
                return static_cast<uint16_t>(dma.get32(d + 0) >> 16);
        }
        return 0;
    }

    void give_rx(uint32_t i, uint16_t size = kBufferSize) {
        write_descriptor(rx_descriptor(i), static_cast<uint32_t>(rx_buffer(i)), size,
                         pcnet::status::kOwn);
    }
    // Puts bytes in TX buffer i and hands descriptor i to the chip with the given flags.
    void queue_tx(uint32_t i, const std::vector<uint8_t>& bytes, uint16_t flags) {
        dma.put(tx_buffer(i), bytes);
        write_descriptor(tx_descriptor(i), static_cast<uint32_t>(tx_buffer(i)),
                         static_cast<uint16_t>(bytes.size()), pcnet::status::kOwn | flags);
    }
    void queue_frame(uint32_t i, const std::vector<uint8_t>& bytes) {
        queue_tx(i, bytes, pcnet::status::kStp | pcnet::status::kEnp);
    }
    void transmit_demand() { set_csr(0, 0x0048); }  // TDMD | IENA, as pcnet32_start_xmit

    FakeDma dma{kRamSize};
    FakeIrqLine irq;
    FakeNetBackend backend;
    RecordingPcnetEvents events;
    PcnetChip chip;

  private:
    pcnet::SoftwareStyle style_ = pcnet::SoftwareStyle::kLance;
    uint32_t rx_count_ = 0;
    uint32_t tx_count_ = 0;
};

// A frame of the given length to dst from the test MAC, payload bytes counting up from seed.
inline std::vector<uint8_t> make_frame(std::array<uint8_t, 6> dst, size_t length,
                                       uint8_t seed = 0) {
    std::vector<uint8_t> frame(length);
    std::copy(dst.begin(), dst.end(), frame.begin());
    std::copy(kTestMac.bytes.begin(), kTestMac.bytes.end(), frame.begin() + 6);
    frame[12] = 0x08;
    frame[13] = 0x00;
    for (size_t i = 14; i < length; ++i) frame[i] = static_cast<uint8_t>(seed + i);
    return frame;
}
inline constexpr std::array<uint8_t, 6> kBroadcast{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
inline constexpr std::array<uint8_t, 6> kOtherHost{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

}  // namespace hvmm::testing
