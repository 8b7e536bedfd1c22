// The receive ring: frames from the backend into guest buffers, chaining, MISS, back-pressure.
#include <gtest/gtest.h>

#include "devices/pcnet/pcnet_address_filter.h"
#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

namespace st = pcnet::status;

TEST(PcnetReceive, AppendsACorrectFcs) {
    PcnetRig rig;
    rig.bring_up();
    const auto frame = make_frame(kTestMac.bytes, 100);
    rig.backend.inject(frame);
    const auto stored = rig.dma.get(PcnetRig::rx_buffer(0), 104);
    const uint32_t fcs = pcnet::ethernet_fcs(frame);
    EXPECT_EQ(stored[100], fcs & 0xFF);
    EXPECT_EQ(stored[103], fcs >> 24);
    // The FCS over data plus FCS leaves the CRC-32 residue, as a receiver checks it.
    EXPECT_EQ(pcnet::ethernet_fcs(stored), 0x2144DF1Cu);
}

TEST(PcnetReceive, PadsShortHostFramesToTheEthernetMinimum) {
    PcnetRig rig;
    rig.bring_up();
    rig.backend.inject(make_frame(kTestMac.bytes, 42));  // an ARP frame as a TAP hands it over
    EXPECT_EQ(rig.rx_message_count(0), 64);
    const auto stored = rig.dma.get(PcnetRig::rx_buffer(0), 60);
    for (size_t i = 42; i < 60; ++i) EXPECT_EQ(stored[i], 0) << i;
    EXPECT_EQ(rig.chip.counters().rx_bytes, 42u);
}

TEST(PcnetReceive, SplitsAFrameOverDescriptorsWithMcntInTheLast) {
    PcnetRig rig;
    rig.bring_up();
    for (uint32_t i = 0; i < 4; ++i) rig.give_rx(i, 128);
    const auto frame = make_frame(kTestMac.bytes, 300);
    rig.backend.inject(frame);
    EXPECT_EQ(rig.rx_status(0) & (st::kOwn | st::kStp | st::kEnp), st::kStp);
    EXPECT_EQ(rig.rx_status(1) & (st::kOwn | st::kStp | st::kEnp), 0);
    EXPECT_EQ(rig.rx_status(2) & (st::kOwn | st::kStp | st::kEnp), st::kEnp);
    EXPECT_EQ(rig.rx_message_count(2), 304);
    EXPECT_TRUE(rig.rx_status(3) & st::kOwn);
    std::vector<uint8_t> joined;
    for (uint32_t i = 0; i < 3; ++i) {
        const auto part = rig.dma.get(PcnetRig::rx_buffer(i), i < 2 ? 128 : 48);
        joined.insert(joined.end(), part.begin(), part.end());
    }
    EXPECT_EQ(std::vector<uint8_t>(joined.begin(), joined.begin() + 300), frame);
}

TEST(PcnetReceive, RunningOutOfBuffersMidFrameSetsBuff) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 1, 4);  // two descriptors
    rig.give_rx(0, 100);
    rig.write_descriptor(rig.rx_descriptor(1), static_cast<uint32_t>(PcnetRig::rx_buffer(1)), 100,
                         0);
    rig.chip.receive(make_frame(kTestMac.bytes, 300));
    EXPECT_EQ(rig.rx_status(0) & (st::kOwn | st::kErr | st::kRxBuff | st::kStp | st::kEnp),
              st::kErr | st::kRxBuff | st::kStp);
    EXPECT_EQ(rig.chip.counters().rx_dropped_buffer_error, 1u);
    EXPECT_TRUE(rig.csr(0) & 0x0400);  // RINT reports it
}

TEST(PcnetReceive, NoOwnedBufferSetsMissAndCountsTheFrame) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 0, 4);  // one descriptor
    rig.chip.receive(make_frame(kTestMac.bytes, 64));
    ASSERT_FALSE(rig.rx_status(0) & st::kOwn);
    rig.set_csr(0, 0x0100 | 0x0400 | 0x0040);  // ack IDON and RINT
    rig.chip.receive(make_frame(kTestMac.bytes, 64));
    EXPECT_TRUE(rig.csr(0) & 0x1000);  // MISS
    EXPECT_TRUE(rig.csr(0) & 0x8000);  // ERR
    EXPECT_EQ(rig.csr(112), 1);
    EXPECT_TRUE(rig.irq.level);
    EXPECT_EQ(rig.chip.counters().rx_dropped_no_buffer, 1u);
}

TEST(PcnetReceive, MissedFrameCounterOverflowSetsMfco) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 0, 4);
    rig.set_csr(0, 0x0004);  // stop to preset CSR112
    rig.set_csr(112, 0xFFFF);
    rig.set_csr(0, 0x0002);
    rig.write_descriptor(rig.rx_descriptor(0), static_cast<uint32_t>(PcnetRig::rx_buffer(0)), 100,
                         0);
    rig.chip.receive(make_frame(kTestMac.bytes, 64));
    EXPECT_EQ(rig.csr(112), 0);
    EXPECT_TRUE(rig.csr(4) & 0x0200);
}

TEST(PcnetReceive, CanReceiveFollowsOwnershipAndTheEventsReportResumption) {
    PcnetRig rig;
    const int& resumed = rig.events.resumed;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 0, 4);
    EXPECT_TRUE(rig.chip.can_receive());
    rig.backend.inject(make_frame(kTestMac.bytes, 64));
    EXPECT_FALSE(rig.chip.can_receive());
    EXPECT_EQ(rig.backend.inject(make_frame(kTestMac.bytes, 65)), 0u);  // held back, not lost
    EXPECT_EQ(rig.chip.counters().rx_dropped_no_buffer, 0u);
    rig.give_rx(0);  // the driver hands the buffer back, then acknowledges RINT
    EXPECT_EQ(resumed, 0);
    rig.set_csr(0, 0x0400 | 0x0040);
    EXPECT_EQ(resumed, 1);
    EXPECT_EQ(rig.backend.poll_receive(), 1u);
    EXPECT_EQ(rig.rx_message_count(0), 69);
}

TEST(PcnetReceive, PollAlsoReportsResumption) {
    PcnetRig rig;
    const int& resumed = rig.events.resumed;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 0, 4);
    rig.backend.inject(make_frame(kTestMac.bytes, 64));
    EXPECT_FALSE(rig.chip.can_receive());
    rig.give_rx(0);
    EXPECT_TRUE(rig.chip.poll()) << "the receiver was waiting for buffers: work for the poll";
    EXPECT_EQ(resumed, 1);
    EXPECT_FALSE(rig.chip.poll());
    EXPECT_EQ(resumed, 1);  // once per stall, not on every tick
}

TEST(PcnetReceive, StoppedOrDisabledReceiverDropsFrames) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 4, /*mode=*/0x0001);  // DRX
    EXPECT_FALSE(rig.chip.can_receive());
    rig.chip.receive(make_frame(kTestMac.bytes, 64));
    EXPECT_TRUE(rig.rx_status(0) & st::kOwn);
    EXPECT_EQ(rig.chip.counters().rx_dropped_not_running, 1u);
}

TEST(PcnetReceive, LinkDownStopsReception) {
    PcnetRig rig;
    rig.bring_up();
    rig.chip.set_link_up(false);
    EXPECT_FALSE(rig.chip.can_receive());
    rig.chip.receive(make_frame(kTestMac.bytes, 64));
    EXPECT_TRUE(rig.rx_status(0) & st::kOwn);
}

TEST(PcnetReceive, RintRaisesTheLine) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0100 | 0x0040);
    rig.backend.inject(make_frame(kTestMac.bytes, 64));
    EXPECT_TRUE(rig.csr(0) & 0x0400);
    EXPECT_TRUE(rig.irq.level);
    EXPECT_EQ(rig.chip.counters().rx_frames, 1u);
}

TEST(PcnetReceive, SuspendHoldsReceptionUntilResumed) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(5, 0x0001);  // SPND, as pcnet32_suspend
    EXPECT_TRUE(rig.csr(5) & 0x0001);
    EXPECT_FALSE(rig.chip.can_receive());
    rig.set_csr(5, 0x0000);
    EXPECT_TRUE(rig.chip.can_receive());
}

}  // namespace
}  // namespace hvmm::testing
