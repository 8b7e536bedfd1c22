// A hostile guest's PCnet layout that keeps the chip busy without the guest doing anything:
// internal loopback (CSR15 LOOP | INTL, PROM so every frame is taken) with the receive buffer
// aliased onto the descriptor rings. Every looped-back frame is an image of both rings with OWN
// set, so receiving it hands the transmit descriptors (and the receive ones) back to the chip:
// the transmit ring never runs dry and a poll finds the same work again and again.
//
// Layout (SWSTYLE 2, 16-byte descriptors):
//   kRings:   tx ring (kDescriptors) then rx ring (kDescriptors): the image the frame carries
//   kPristine: the frame itself, an image of the armed rings padded to kFrameLength; every
//              transmit descriptor points here, so what is sent never changes
//   every receive descriptor's buffer is kRings: receiving writes the armed image back.
// The chip clears OWN on the descriptors it has just used after the data is written, so the
// next ones stay armed: with two or more descriptors per ring the loop never ends.
#pragma once

#include <cstdint>
#include <vector>

#include "pcnet_test_rig.h"

namespace hvmm::testing {

class SelfFeedingRing {
  public:
    static constexpr unsigned kRingLog2 = 6;  // 64 descriptors in each ring
    static constexpr uint32_t kDescriptors = 1u << kRingLog2;
    static constexpr uint64_t kRings = 0x20000;
    static constexpr uint64_t kPristine = 0x30000;
    static constexpr uint64_t kRingBytes = 2 * kDescriptors * 16;

    // Brings the rig's chip up in that layout; frame_length (>= kRingBytes, <= 4091) is what
    // each looped frame carries (its FCS follows in the receive buffer).
    explicit SelfFeedingRing(PcnetRig& rig, uint16_t frame_length = 4000)
        : rig_(rig), frame_length_(frame_length) {
        // PROM | LOOP | INTL: every looped frame is accepted whatever its destination.
        rig.write_init_block32(kRingLog2, kRingLog2, 0x8044);
        rig.dma.put32(PcnetRig::kInitBlock + 20, static_cast<uint32_t>(rx_ring()));
        rig.dma.put32(PcnetRig::kInitBlock + 24, static_cast<uint32_t>(tx_ring()));
        write_armed_image(kPristine);
        // The live rings start as the same image; the padding beyond them is left alone.
        write_armed_image(kRings, kRingBytes);
        rig.set_bcr(20, 2);
        rig.set_csr(1, static_cast<uint16_t>(PcnetRig::kInitBlock));
        rig.set_csr(2, static_cast<uint16_t>(PcnetRig::kInitBlock >> 16));
        rig.set_csr(4, 0x0915);
        rig.set_csr(0, 0x0001);  // INIT
    }

    // STRT | IENA: the transmitter starts, and with it the demand that begins the loop.
    void start() { rig_.set_csr(0, 0x0042); }

    static uint64_t tx_ring() { return kRings; }
    static uint64_t rx_ring() { return kRings + kDescriptors * 16; }
    uint16_t frame_length() const { return frame_length_; }

  private:
    // The armed rings' image at address (only its first limit bytes when limit is given).
    void write_armed_image(uint64_t address, size_t limit = SIZE_MAX) {
        std::vector<uint8_t> image(frame_length_, 0);
        auto put32 = [&image](size_t at, uint32_t value) {
            for (int i = 0; i < 4; ++i) image[at + i] = static_cast<uint8_t>(value >> (8 * i));
        };
        auto bcnt = [](uint32_t size) { return 0xF000u | ((0u - size) & 0x0FFFu); };
        namespace st = pcnet::status;
        for (uint32_t i = 0; i < kDescriptors; ++i) {
            const size_t tx = i * 16;
            put32(tx + 0, static_cast<uint32_t>(kPristine));
            put32(tx + 4, (uint32_t{st::kOwn | st::kStp | st::kEnp} << 16) | bcnt(frame_length_));
            const size_t rx = (kDescriptors + i) * 16;
            put32(rx + 0, static_cast<uint32_t>(kRings));
            put32(rx + 4, (uint32_t{st::kOwn} << 16) | bcnt(frame_length_ + 4u));
        }
        image.resize(std::min(image.size(), limit));
        rig_.dma.put(address, image);
    }

    PcnetRig& rig_;
    uint16_t frame_length_;
};

}  // namespace hvmm::testing
