// The transmit ring: frames out to the backend, padding, interrupts, errors, demand and polling.
#include <gtest/gtest.h>

#include <functional>

#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

namespace st = pcnet::status;
namespace te = pcnet::tx_error;

TEST(PcnetTransmit, SendsQueuedFramesInRingOrder) {
    PcnetRig rig;
    rig.bring_up();
    for (uint32_t i = 0; i < 3; ++i) rig.queue_frame(i, make_frame(kOtherHost, 80 + i, uint8_t(i)));
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 3u);
    for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(rig.backend.sent[i].size(), 80u + i);
    const auto c = rig.chip.counters();
    EXPECT_EQ(c.tx_frames, 3u);
    EXPECT_EQ(c.tx_bytes, 80u + 81 + 82);
    EXPECT_EQ(c.tdmd, 1u);
}

TEST(PcnetTransmit, ContinuesFromWhereTheLastWalkStopped) {
    PcnetRig rig;
    rig.bring_up();
    rig.queue_frame(0, make_frame(kOtherHost, 70));
    rig.transmit_demand();
    rig.queue_frame(1, make_frame(kOtherHost, 71));
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 2u);
    EXPECT_EQ(rig.backend.sent[1].size(), 71u);
}

TEST(PcnetTransmit, PadsShortFramesTo60BytesWhenApadXmtIsSet) {
    PcnetRig rig;
    rig.bring_up();  // CSR4 = 0x0915 sets APAD_XMT
    rig.queue_frame(0, make_frame(kOtherHost, 42));
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 1u);
    ASSERT_EQ(rig.backend.sent[0].size(), 60u);
    for (size_t i = 42; i < 60; ++i) EXPECT_EQ(rig.backend.sent[0][i], 0) << i;
}

TEST(PcnetTransmit, SendsShortFramesAsTheyAreWithoutApadXmt) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(4, 0x0115);
    rig.queue_frame(0, make_frame(kOtherHost, 42));
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.backend.sent[0].size(), 42u);
}

TEST(PcnetTransmit, NeverSendsTheFcsToTheBackend) {
    PcnetRig rig;
    rig.bring_up();
    rig.queue_frame(0, make_frame(kOtherHost, 1514));
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.backend.sent[0].size(), 1514u);
}

TEST(PcnetTransmit, FrameLongerThan1518WithFcsSetsBablButIsSent) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0100 | 0x0040);
    rig.queue_frame(0, make_frame(kOtherHost, 1514));
    rig.transmit_demand();
    EXPECT_FALSE(rig.csr(0) & 0x4000);
    rig.set_csr(3, 0x0200);  // TINTM: only BABL can raise the line now
    rig.set_csr(0, 0x0200 | 0x0040);
    rig.queue_frame(1, make_frame(kOtherHost, 1515));
    rig.transmit_demand();
    EXPECT_TRUE(rig.csr(0) & 0x4000);
    EXPECT_TRUE(rig.csr(0) & 0x8000);
    EXPECT_TRUE(rig.irq.level);
    EXPECT_EQ(rig.backend.sent.size(), 2u);
}

TEST(PcnetTransmit, TintRaisesTheLineUnlessMasked) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0100 | 0x0040);  // ack IDON
    ASSERT_FALSE(rig.irq.level);
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    rig.transmit_demand();
    EXPECT_TRUE(rig.irq.level);
    rig.set_csr(0, 0x0200 | 0x0040);
    EXPECT_FALSE(rig.irq.level);
    rig.set_csr(3, 0x0200);  // TINTM
    rig.queue_frame(1, make_frame(kOtherHost, 64));
    rig.transmit_demand();
    EXPECT_TRUE(rig.csr(0) & 0x0200);
    EXPECT_FALSE(rig.irq.level);
}

TEST(PcnetTransmit, ChainWithoutEnpIsDroppedWithBuffUfloAndTransmitterOff) {
    PcnetRig rig;
    rig.bring_up();
    rig.queue_tx(0, make_frame(kOtherHost, 40), st::kStp);
    rig.queue_tx(1, std::vector<uint8_t>(40, 1), 0);  // no ENP, and descriptor 2 is not owned
    rig.transmit_demand();
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_FALSE(rig.tx_status(1) & st::kOwn);
    EXPECT_TRUE(rig.tx_status(1) & st::kErr);
    EXPECT_EQ(rig.tx_errors(1) & (te::kBuff | te::kUflo), te::kBuff | te::kUflo);
    EXPECT_FALSE(rig.csr(0) & 0x0010);  // TXON off until the driver restarts
    EXPECT_EQ(rig.chip.counters().tx_dropped_no_enp, 1u);
}

TEST(PcnetTransmit, LinkDownReportsLossOfCarrier) {
    PcnetRig rig;
    rig.bring_up();
    rig.chip.set_link_up(false);
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    rig.transmit_demand();
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_TRUE(rig.tx_status(0) & st::kErr);
    EXPECT_TRUE(rig.tx_errors(0) & te::kLcar);
    EXPECT_EQ(rig.chip.counters().tx_dropped_link_down, 1u);
}

TEST(PcnetTransmit, DescriptorWithoutStpIsHandedBackUnsent) {
    PcnetRig rig;
    rig.bring_up();
    rig.queue_tx(0, make_frame(kOtherHost, 64), st::kEnp);
    rig.queue_frame(1, make_frame(kOtherHost, 65));
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.backend.sent[0].size(), 65u);
    EXPECT_FALSE(rig.tx_status(0) & st::kOwn);
    EXPECT_EQ(rig.chip.counters().tx_dropped_no_stp, 1u);
}

TEST(PcnetTransmit, DisabledTransmitterSendsNothing) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 4, /*mode=*/0x0002);  // DTX
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    rig.transmit_demand();
    rig.chip.poll();
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_FALSE(rig.csr(0) & 0x0010);
}

TEST(PcnetTransmit, ADemandTheVmmTakesDefersTheWalk) {
    PcnetRig rig;
    const int& demands = rig.events.demands;
    rig.events.take_demands = true;
    rig.bring_up();
    const int after_start = demands;  // STRT polls the ring too
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    rig.transmit_demand();
    EXPECT_EQ(demands, after_start + 1);
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_TRUE(rig.csr(0) & 0x0008);  // TDMD reads set until the ring is looked at
    rig.chip.process_transmit_ring();
    EXPECT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_FALSE(rig.csr(0) & 0x0008);
}

TEST(PcnetTransmit, PollSendsWithoutDemandUnlessDpoll) {
    PcnetRig rig;
    rig.events.take_demands = true;
    rig.bring_up();
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    rig.set_csr(4, 0x0915 | 0x1000);  // DPOLL
    rig.chip.poll();
    EXPECT_TRUE(rig.backend.sent.empty());
    rig.set_csr(4, 0x0915);
    rig.chip.poll();
    EXPECT_EQ(rig.backend.sent.size(), 1u);
}

TEST(PcnetTransmit, PollSaysWhetherItHadWork) {
    PcnetRig rig;
    rig.events.take_demands = true;  // demands do nothing: only the poll sends
    rig.bring_up();
    EXPECT_FALSE(rig.chip.poll()) << "an empty ring";
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    EXPECT_TRUE(rig.chip.poll()) << "it sent a frame no demand had sent";
    EXPECT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_FALSE(rig.chip.poll()) << "nothing left";
}

TEST(PcnetTransmit, ProcessTransmitRingCountsTheFramesItSent) {
    PcnetRig rig;
    rig.events.take_demands = true;
    rig.bring_up();
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    rig.queue_frame(1, make_frame(kOtherHost, 64));
    EXPECT_EQ(rig.chip.process_transmit_ring(), 2u);
    EXPECT_EQ(rig.chip.process_transmit_ring(), 0u);
    EXPECT_EQ(rig.chip.counters().tx_batches, 1u) << "one walk sent both; the empty one counts not";
}

TEST(PcnetTransmit, ChipWithoutBackendHandsFramesBackAndCountsThem) {
    FakeDma dma(PcnetRig::kRamSize);
    FakeIrqLine irq;
    PcnetChip chip(dma, irq, nullptr, kTestMac);
    auto set_csr = [&](unsigned i, uint16_t v) {
        const std::array<uint8_t, 2> index{uint8_t(i), 0};
        const std::array<uint8_t, 2> value{uint8_t(v), uint8_t(v >> 8)};
        chip.write(0x12, index);
        chip.write(0x10, value);
    };
    set_csr(58, 2);
    dma.put16(PcnetRig::kInitBlock + 2, 0x0000);  // one descriptor each way
    dma.put32(PcnetRig::kInitBlock + 20, PcnetRig::kRxRing);
    dma.put32(PcnetRig::kInitBlock + 24, PcnetRig::kTxRing);
    dma.put32(PcnetRig::kTxRing, PcnetRig::kTxBuffers);
    dma.put32(PcnetRig::kTxRing + 4, 0x8300'FFC0u);  // OWN|STP|ENP, 64 bytes
    set_csr(1, uint16_t(PcnetRig::kInitBlock));
    set_csr(2, 0);
    set_csr(0, 0x0003);  // INIT | STRT: the start polls the ring
    EXPECT_EQ(chip.counters().tx_dropped_no_backend, 1u);
    EXPECT_FALSE(dma.get32(PcnetRig::kTxRing + 4) & 0x8000'0000u);
}

TEST(PcnetTransmit, LtintenGivesTintOnlyForMarkedFrames) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0100 | 0x0040);
    rig.set_csr(5, 0x4000);  // LTINTEN
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    rig.transmit_demand();
    EXPECT_FALSE(rig.csr(0) & 0x0200);
    rig.queue_tx(1, make_frame(kOtherHost, 64), st::kStp | st::kEnp | st::kLtint);
    rig.transmit_demand();
    EXPECT_TRUE(rig.csr(0) & 0x0200);
}

}  // namespace
}  // namespace hvmm::testing

namespace hvmm::testing {
namespace {

// A backend that, while sending, re-enters the chip: an echo into receive() and a fresh
// transmit demand, as a switch delivering synchronously or a second vCPU might.
class ReentrantBackend final : public NetBackend {
  public:
    void send(std::span<const iovec> frame) override {
        std::vector<uint8_t> bytes;
        for (const iovec& part : frame) {
            const auto* p = static_cast<const uint8_t*>(part.iov_base);
            bytes.insert(bytes.end(), p, p + part.iov_len);
        }
        sent.push_back(bytes);
        if (on_send)
            on_send(bytes);
    }
    using NetBackend::send;
    void set_sink(FrameSink*) override {}
    int receive_fd() const override { return -1; }
    size_t poll_receive() override { return 0; }
    bool link_up() const override { return true; }
    std::string_view describe() const override { return "reentrant"; }
    NetBackendStats stats() const override { return {}; }
    std::function<void(const std::vector<uint8_t>&)> on_send;
    std::vector<std::vector<uint8_t>> sent;
};

TEST(PcnetTransmitLocking, BackendMayReenterTheChipWhileSending) {
    FakeDma dma(PcnetRig::kRamSize);
    FakeIrqLine irq;
    ReentrantBackend backend;
    PcnetChip chip(dma, irq, &backend, kTestMac);
    // Borrow the rig's register helpers by building the same layout by hand.
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
    dma.put16(PcnetRig::kInitBlock + 2, 0x2020);  // 4 descriptors each way
    dma.put(PcnetRig::kInitBlock + 4, kTestMac.bytes);
    dma.put32(PcnetRig::kInitBlock + 20, PcnetRig::kRxRing);
    dma.put32(PcnetRig::kInitBlock + 24, PcnetRig::kTxRing);
    for (uint32_t i = 0; i < 4; ++i) {
        dma.put32(PcnetRig::kRxRing + 16 * i, uint32_t(PcnetRig::rx_buffer(i)));
        dma.put32(PcnetRig::kRxRing + 16 * i + 4, 0x8000'F9F8u);  // OWN, 1544 bytes
    }
    set_csr(1, uint16_t(PcnetRig::kInitBlock));
    set_csr(2, 0);
    set_csr(0, 0x0003);
    auto queue = [&](uint32_t i, size_t length) {
        const auto frame = make_frame(kTestMac.bytes, length);
        dma.put(PcnetRig::tx_buffer(i), frame);
        dma.put32(PcnetRig::kTxRing + 16 * i, uint32_t(PcnetRig::tx_buffer(i)));
        dma.put32(PcnetRig::kTxRing + 16 * i + 4,
                  0x8300'0000u | 0xF000u | (uint32_t(-int(length)) & 0xFFF));
    };
    bool queued_second = false;
    backend.on_send = [&](const std::vector<uint8_t>& bytes) {
        chip.receive(bytes);  // would deadlock if send ran under the chip's lock
        if (!queued_second) {
            queued_second = true;
            queue(1, 99);
            chip.process_transmit_ring();  // nested: noted, done by the outer walk
        }
    };
    queue(0, 80);
    set_csr(0, 0x0008);
    ASSERT_EQ(backend.sent.size(), 2u);
    EXPECT_EQ(backend.sent[0].size(), 80u);
    EXPECT_EQ(backend.sent[1].size(), 99u);
    EXPECT_EQ(chip.counters().rx_frames, 2u);
}

}  // namespace
}  // namespace hvmm::testing
