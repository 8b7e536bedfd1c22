// Loopback as `ethtool -t` drives it through pcnet32_loopback_test, and external loopback.
#include <gtest/gtest.h>

#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

namespace st = pcnet::status;

// pcnet32_loopback_test's frames: DA and SA our own address, type 0x0806, the packet number,
// then 60 counting bytes: 75 bytes in all.
std::vector<uint8_t> ethtool_test_frame(uint8_t number) {
    std::vector<uint8_t> frame;
    frame.insert(frame.end(), kTestMac.bytes.begin(), kTestMac.bytes.end());
    frame.insert(frame.end(), kTestMac.bytes.begin(), kTestMac.bytes.end());
    frame.push_back(0x08);
    frame.push_back(0x06);
    frame.push_back(number);
    for (uint8_t i = 0; i < 60; ++i) frame.push_back(i);
    return frame;
}

TEST(PcnetLoopback, EthtoolSelfTestSequencePasses) {
    PcnetRig rig;
    rig.bring_up();  // the interface was up before the test
    // STOP, reset, CSR4, SWSTYLE 2, INIT (pcnet32_restart with no start bits), STOP.
    rig.set_csr(0, 0x0004);
    (void)rig.read16(0x14);
    rig.set_csr(4, 0x0915);
    rig.set_bcr(20, 2);
    for (uint32_t i = 0; i < 16; ++i) rig.give_rx(i);
    rig.set_csr(0, 0x0001);
    ASSERT_TRUE(rig.csr(0) & 0x0100);
    rig.set_csr(0, 0x0000);
    rig.set_csr(0, 0x0004);
    for (uint8_t x = 0; x < 4; ++x) rig.queue_frame(x, ethtool_test_frame(x));
    rig.set_bcr(32, rig.bcr(32) | 0x0002);
    rig.set_csr(15, static_cast<uint16_t>((rig.csr(15) & 0xFFFC) | 0x0044));
    rig.set_csr(0, 0x0002);  // STRT
    for (uint8_t x = 0; x < 4; ++x) {
        ASSERT_FALSE(rig.rx_status(x) & st::kOwn) << "Desc " << int(x) << " failed to reset";
        EXPECT_EQ(rig.dma.get(PcnetRig::rx_buffer(x), 75), ethtool_test_frame(x));
        EXPECT_EQ(rig.rx_message_count(x), 75 + 4);
    }
    rig.set_csr(0, 0x0004);
    EXPECT_TRUE(rig.backend.sent.empty());  // internal loopback never reaches the wire
    EXPECT_EQ(rig.chip.counters().loopback_frames, 4u);
    EXPECT_EQ(rig.chip.counters().rx_bytes, 4u * 75);  // frames without their FCS
    // Clean-up as the driver does it, then the normal restart sends to the backend again.
    rig.set_csr(15, rig.csr(15) & ~0x0044);
    rig.set_bcr(32, rig.bcr(32) & ~0x0002);
    rig.set_csr(0, 0x0001);
    rig.set_csr(0, 0x0042);
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    rig.transmit_demand();
    EXPECT_EQ(rig.backend.sent.size(), 1u);
}

TEST(PcnetLoopback, InternalLoopbackIgnoresTheWire) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 4, 0x0044);
    EXPECT_FALSE(rig.chip.can_receive());
    rig.chip.receive(make_frame(kTestMac.bytes, 64));
    EXPECT_TRUE(rig.rx_status(0) & st::kOwn);
}

TEST(PcnetLoopback, ExternalLoopbackSendsAndReceivesTheFrame) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 4, 0x0004);  // LOOP without INTL
    const auto frame = make_frame(kTestMac.bytes, 100);
    rig.queue_frame(0, frame);
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.backend.sent[0], frame);
    EXPECT_FALSE(rig.rx_status(0) & st::kOwn);
    EXPECT_EQ(rig.dma.get(PcnetRig::rx_buffer(0), 100), frame);
}

TEST(PcnetLoopback, DxmtfcsLoopsBackWithoutAnFcs) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 4, 0x0044 | 0x0008);
    rig.queue_frame(0, make_frame(kTestMac.bytes, 100));
    rig.transmit_demand();
    EXPECT_EQ(rig.rx_message_count(0), 100);
}

}  // namespace
}  // namespace hvmm::testing
