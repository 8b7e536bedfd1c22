// A hostile guest: one regression test per known PCnet emulation flaw, plus the bounds every
// guest-controlled value gets.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

namespace st = pcnet::status;

// CVE-2015-3209: a transmit chain without ENP whose buffers add up to more than the chip's
// frame buffer must not overflow it.
TEST(PcnetHostile, TxChainWithoutEnpLargerThanTheFrameBufferIsDropped) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 9);  // 512 transmit descriptors
    for (uint32_t i = 0; i < 512; ++i) {
        rig.write_descriptor(rig.tx_descriptor(i), static_cast<uint32_t>(PcnetRig::kTxBuffers),
                             4096, st::kOwn | (i == 0 ? st::kStp : 0));
    }
    rig.transmit_demand();
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_EQ(rig.chip.counters().tx_dropped_no_enp, 1u);
    EXPECT_FALSE(rig.csr(0) & 0x0010);
}

TEST(PcnetHostile, TxChainWithEnpLongerThanTheFrameBufferIsDroppedAndCounted) {
    PcnetRig rig;
    rig.bring_up();
    rig.write_descriptor(rig.tx_descriptor(0), static_cast<uint32_t>(PcnetRig::kTxBuffers), 4096,
                         st::kOwn | st::kStp);
    rig.write_descriptor(rig.tx_descriptor(1), static_cast<uint32_t>(PcnetRig::kTxBuffers), 100,
                         st::kOwn | st::kEnp);
    rig.queue_frame(2, make_frame(kOtherHost, 64));
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 1u);  // the next frame still goes
    EXPECT_EQ(rig.backend.sent[0].size(), 64u);
    EXPECT_EQ(rig.chip.counters().tx_dropped_oversize, 1u);
    EXPECT_FALSE(rig.tx_status(0) & st::kOwn);
    EXPECT_FALSE(rig.tx_status(1) & st::kOwn);
}

// CVE-2015-7504: a looped-back frame plus its FCS must fit the buffer it is built in.
TEST(PcnetHostile, LoopbackOfTheLargestFrameFitsWithItsFcs) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 4, 0x0044);
    rig.give_rx(0, 4096);
    rig.write_descriptor(rig.tx_descriptor(0), static_cast<uint32_t>(PcnetRig::kTxBuffers),
                         PcnetChip::kMaxFrameSize, st::kOwn | st::kStp | st::kEnp);
    std::copy(kTestMac.bytes.begin(), kTestMac.bytes.end(), rig.dma.at(PcnetRig::kTxBuffers));
    rig.transmit_demand();
    EXPECT_FALSE(rig.rx_status(0) & st::kOwn);
    EXPECT_EQ(rig.rx_message_count(0), PcnetChip::kMaxFrameSize + 4);
}

TEST(PcnetHostile, LoopbackOfAnOversizedFrameIsDropped) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 4, 0x0044);
    rig.write_descriptor(rig.tx_descriptor(0), static_cast<uint32_t>(PcnetRig::kTxBuffers), 4096,
                         st::kOwn | st::kStp | st::kEnp);
    rig.transmit_demand();
    EXPECT_TRUE(rig.rx_status(0) & st::kOwn);
    EXPECT_EQ(rig.chip.counters().tx_dropped_oversize, 1u);
}

// CVE-2015-7512: a received frame larger than the chip takes is dropped, not copied.
TEST(PcnetHostile, OversizedReceivedFrameIsDroppedAndCounted) {
    PcnetRig rig;
    rig.bring_up();
    std::vector<uint8_t> huge(65536 + 14, 0xAB);
    std::copy(kTestMac.bytes.begin(), kTestMac.bytes.end(), huge.begin());
    rig.chip.receive(huge);
    EXPECT_TRUE(rig.rx_status(0) & st::kOwn);
    EXPECT_EQ(rig.chip.counters().rx_dropped_oversize, 1u);
}

// CVE-2016-7909: a ring length of 0 (CSR76/CSR78 written while stopped) must not loop forever.
TEST(PcnetHostile, ZeroRingLengthDoesNotLoop) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0004);
    rig.set_csr(76, 0);
    rig.set_csr(78, 0);
    EXPECT_EQ(rig.csr(76), 0);
    rig.set_csr(0, 0x0042);
    rig.transmit_demand();
    rig.chip.poll();
    EXPECT_FALSE(rig.chip.can_receive());
    rig.chip.receive(make_frame(kTestMac.bytes, 64));
    EXPECT_EQ(rig.chip.counters().rx_dropped_bad_ring, 1u);
    EXPECT_TRUE(rig.backend.sent.empty());
}

TEST(PcnetHostile, RingLengthWrittenThroughCsr78IsHonouredUpTo65535) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0004);
    rig.set_csr(78, static_cast<uint16_t>(-3));
    rig.set_csr(0, 0x0042);
    for (uint32_t i = 0; i < 3; ++i) rig.queue_frame(i, make_frame(kOtherHost, 64, uint8_t(i)));
    rig.queue_frame(3, make_frame(kOtherHost, 99));  // beyond the ring: never read
    rig.transmit_demand();
    EXPECT_EQ(rig.backend.sent.size(), 3u);
    rig.queue_frame(0, make_frame(kOtherHost, 70));
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 4u);
    EXPECT_EQ(rig.backend.sent[3].size(), 70u);  // wrapped to descriptor 0
}

// CVE-2021-3416: a looped-back frame written over the transmit ring re-arms its descriptors;
// the walk still touches each descriptor at most once per call.
TEST(PcnetHostile, LoopbackIntoTheTransmitRingCannotReenterForever) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 2, 2, 0x0044);  // 4 RX, 4 TX descriptors
    // Every receive buffer is the transmit ring itself.
    for (uint32_t i = 0; i < 4; ++i) {
        rig.write_descriptor(rig.rx_descriptor(i), static_cast<uint32_t>(PcnetRig::kTxRing), 64,
                             st::kOwn);
    }
    // The frame's bytes are a transmit ring: four owned STP|ENP descriptors whose buffer is
    // the frame itself. DA is ours so the receiver takes it (first 6 bytes).
    std::vector<uint8_t> ring(64, 0);
    for (uint32_t i = 0; i < 4; ++i) {
        const uint32_t base = static_cast<uint32_t>(PcnetRig::kTxBuffers);
        const uint32_t dword1 =
            (uint32_t{st::kOwn | st::kStp | st::kEnp} << 16) | 0xFFC0;  // 64 bytes
        std::memcpy(&ring[i * 16 + 0], &base, 4);
        std::memcpy(&ring[i * 16 + 4], &dword1, 4);
    }
    std::copy(kTestMac.bytes.begin(), kTestMac.bytes.end(), ring.begin());  // overlaps desc 0
    rig.dma.put(PcnetRig::kTxBuffers, ring);
    rig.write_descriptor(rig.tx_descriptor(0), static_cast<uint32_t>(PcnetRig::kTxBuffers), 64,
                         st::kOwn | st::kStp | st::kEnp);
    rig.transmit_demand();
    EXPECT_LE(rig.chip.counters().loopback_frames, 4u);
    rig.chip.poll();
    EXPECT_LE(rig.chip.counters().loopback_frames, 8u);
}

// Counts descriptor reads and rewrites descriptor 0 behind the chip's back after the first.
class RacingDma final : public DmaSpace {
  public:
    RacingDma(FakeDma& memory, uint64_t watched) : memory_(memory), watched_(watched) {}
    bool read(uint64_t address, std::span<uint8_t> out) override {
        ++reads[address];
        const bool ok = memory_.read(address, out);
        if (address == watched_) {
            // A second vCPU rewrites the descriptor: a huge buffer outside RAM, chain on.
            memory_.put32(watched_ + 0, 0xFFFF'F000u);
            memory_.put32(watched_ + 4, (uint32_t{st::kOwn | st::kStp} << 16) | 0xF000);
        }
        return ok;
    }
    bool write(uint64_t address, std::span<const uint8_t> in) override {
        return memory_.write(address, in);
    }
    std::map<uint64_t, int> reads;

  private:
    FakeDma& memory_;
    uint64_t watched_;
};

// CVE-2020-14676/14677: each descriptor is read once into a local copy and only the copy is
// used, so a racing rewrite cannot change a frame the chip already validated.
TEST(PcnetHostile, TxDescriptorIsReadOnceAndTheCopyIsUsed) {
    FakeDma memory(PcnetRig::kRamSize);
    RacingDma racing(memory, PcnetRig::kTxRing);
    FakeIrqLine irq;
    FakeNetBackend backend;
    RecordingPcnetEvents events;
    events.take_demands = true;  // the test walks the ring itself, once
    PcnetChip chip(racing, irq, &backend, kTestMac, events);
    // Drive it like PcnetRig does, over this chip.
    auto w16 = [&](uint64_t offset, uint16_t value) {
        const std::array<uint8_t, 2> b{uint8_t(value), uint8_t(value >> 8)};
        chip.write(offset, b);
    };
    auto set_csr = [&](unsigned i, uint16_t v) {
        w16(0x12, uint16_t(i));
        w16(0x10, v);
    };
    w16(0x12, 20);
    w16(0x16, 2);
    memory.put16(PcnetRig::kInitBlock + 2, 0x0000);  // one descriptor each way
    memory.put32(PcnetRig::kInitBlock + 20, PcnetRig::kRxRing);
    memory.put32(PcnetRig::kInitBlock + 24, PcnetRig::kTxRing);
    set_csr(1, uint16_t(PcnetRig::kInitBlock));
    set_csr(2, 0);
    set_csr(0, 0x0001);
    set_csr(0, 0x0002);
    const auto frame = make_frame(kOtherHost, 100);
    memory.put(PcnetRig::kTxBuffers, frame);
    memory.put32(PcnetRig::kTxRing + 0, PcnetRig::kTxBuffers);
    memory.put32(PcnetRig::kTxRing + 4,
                 (uint32_t{st::kOwn | st::kStp | st::kEnp} << 16) | (0xF000 | (-100 & 0xFFF)));
    racing.reads.clear();
    chip.process_transmit_ring();
    ASSERT_EQ(backend.sent.size(), 1u);
    EXPECT_EQ(backend.sent[0], frame);
    EXPECT_EQ(racing.reads[PcnetRig::kTxRing], 1);
    EXPECT_EQ(chip.counters().tx_dropped_dma_error, 0u);
}

TEST(PcnetHostile, BufferOutsideGuestRamSetsMerrAndDropsTheFrame) {
    PcnetRig rig;
    rig.bring_up();
    rig.write_descriptor(rig.tx_descriptor(0), 0xFFFF'FF00u, 1000, st::kOwn | st::kStp | st::kEnp);
    rig.transmit_demand();
    EXPECT_TRUE(rig.csr(0) & 0x0800);
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_FALSE(rig.tx_status(0) & st::kOwn);
    EXPECT_EQ(rig.chip.counters().tx_dropped_dma_error, 1u);
}

TEST(PcnetHostile, ReceiveRingOutsideGuestRamSetsMerr) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0004);
    rig.set_csr(24, 0xFF00);
    rig.set_csr(25, 0xFFFF);
    rig.set_csr(0, 0x0002);
    EXPECT_FALSE(rig.chip.can_receive());
    rig.chip.receive(make_frame(kTestMac.bytes, 64));
    EXPECT_TRUE(rig.csr(0) & 0x0800);
    EXPECT_EQ(rig.chip.counters().rx_dropped_dma_error, 1u);
}

TEST(PcnetHostile, ReceiveBufferOutsideGuestRamSetsMerrAndKeepsTheDescriptor) {
    PcnetRig rig;
    rig.bring_up();
    rig.write_descriptor(rig.rx_descriptor(0), 0xFFFF'F000u, 1544, st::kOwn);
    rig.chip.receive(make_frame(kTestMac.bytes, 64));
    EXPECT_TRUE(rig.csr(0) & 0x0800);
    EXPECT_TRUE(rig.rx_status(0) & st::kOwn);
}

TEST(PcnetHostile, ReceiveChainCannotWrapOntoItsOwnStart) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 1, 4);  // two descriptors
    rig.give_rx(0, 16);
    rig.give_rx(1, 16);
    rig.chip.receive(make_frame(kTestMac.bytes, 1000));
    EXPECT_EQ(rig.chip.counters().rx_dropped_buffer_error, 1u);
    EXPECT_TRUE(rig.rx_status(1) & st::kRxBuff);
}

TEST(PcnetHostile, StyleSwitchWhileSuspendedReinterpretsTheRingWithinBounds) {
    PcnetRig rig;
    rig.bring_up();
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    // As style 0, descriptor 0's status byte is the top byte of the 32-bit buffer address
    // (0x00 here): not owned, so nothing is sent.
    rig.set_csr(5, 0x0001);  // only a suspended or stopped chip takes a new style
    rig.set_bcr(20, 0);
    rig.set_csr(5, 0x0000);
    rig.transmit_demand();
    EXPECT_TRUE(rig.backend.sent.empty());
    // As style 3 the status word is where it was and the buffer address is the (zero) third
    // dword: the chip sends 64 bytes from guest address 0, and nothing out of bounds.
    rig.set_csr(5, 0x0001);
    rig.set_bcr(20, 3);
    rig.set_csr(5, 0x0000);
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.backend.sent[0], rig.dma.get(0, 64));
}

TEST(PcnetHostile, RegisterWindowOffsetsBeyond32AreIgnored) {
    PcnetRig rig;
    std::array<uint8_t, 8> wide{};
    rig.chip.read(0x1E, wide);
    rig.chip.write(0x40, wide);
    rig.chip.read(UINT64_MAX - 2, std::span(wide.data(), 2));
    EXPECT_EQ(rig.csr(0), 0x0004);
}

}  // namespace
}  // namespace hvmm::testing
