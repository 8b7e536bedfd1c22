// The same frames go out and come in through the ring in each software style.
#include <gtest/gtest.h>

#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

using pcnet::SoftwareStyle;
namespace st = pcnet::status;

class PcnetStyle : public ::testing::TestWithParam<SoftwareStyle> {};

TEST_P(PcnetStyle, TransmitsAFrameAndHandsTheDescriptorBack) {
    PcnetRig rig;
    rig.bring_up(GetParam());
    const auto frame = make_frame(kOtherHost, 100);
    rig.queue_frame(0, frame);
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.backend.sent[0], frame);
    EXPECT_EQ(rig.tx_status(0) & (st::kOwn | st::kErr), 0);
    EXPECT_EQ(rig.tx_status(0) & (st::kStp | st::kEnp), st::kStp | st::kEnp);
    EXPECT_EQ(rig.tx_errors(0), 0);
    EXPECT_TRUE(rig.csr(0) & 0x0200);  // TINT
}

TEST_P(PcnetStyle, ReceivesAFrameWithMessageCountIncludingFcs) {
    PcnetRig rig;
    rig.bring_up(GetParam());
    const auto frame = make_frame(kTestMac.bytes, 200);
    EXPECT_EQ(rig.backend.inject(frame), 1u);
    EXPECT_EQ(rig.rx_status(0) & (st::kOwn | st::kErr | st::kStp | st::kEnp), st::kStp | st::kEnp);
    EXPECT_EQ(rig.rx_message_count(0), 204);
    EXPECT_EQ(rig.dma.get(PcnetRig::rx_buffer(0), 200), frame);
    EXPECT_TRUE(rig.rx_status(1) & st::kOwn);  // next one untouched
}

TEST_P(PcnetStyle, GathersAFrameFromThreeDescriptors) {
    PcnetRig rig;
    rig.bring_up(GetParam());
    const auto frame = make_frame(kOtherHost, 300);
    const std::vector<uint8_t> a(frame.begin(), frame.begin() + 20);
    const std::vector<uint8_t> b(frame.begin() + 20, frame.begin() + 150);
    const std::vector<uint8_t> c(frame.begin() + 150, frame.end());
    rig.queue_tx(1, b, 0);
    rig.queue_tx(2, c, st::kEnp);
    rig.queue_tx(0, a, st::kStp);
    rig.transmit_demand();
    ASSERT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.backend.sent[0], frame);
    for (uint32_t i = 0; i < 3; ++i) EXPECT_FALSE(rig.tx_status(i) & st::kOwn) << i;
}

INSTANTIATE_TEST_SUITE_P(AllStyles, PcnetStyle,
                         ::testing::Values(SoftwareStyle::kLance, SoftwareStyle::kPcnetPci,
                                           SoftwareStyle::kPcnetPciSwapped));

TEST(PcnetDescriptors, BcntIsTwosComplementWithZeroMeaning4096) {
    EXPECT_EQ(pcnet::buffer_size_from_bcnt(0xF000 | static_cast<uint16_t>(-1514 & 0xFFF)), 1514u);
    EXPECT_EQ(pcnet::buffer_size_from_bcnt(0xF000), 4096u);
    EXPECT_EQ(pcnet::buffer_size_from_bcnt(0xFFFF), 1u);
}

TEST(PcnetDescriptors, Style3KeepsTheAddressInTheThirdWord) {
    const std::array<uint8_t, 16> raw{0,    0,    0,    0,    0x9C, 0xFF, 0x00, 0x83,
                                      0x00, 0x10, 0x02, 0x00, 0,    0,    0,    0};
    const auto d = pcnet::decode_transmit(SoftwareStyle::kPcnetPciSwapped, raw, 0);
    EXPECT_EQ(d.buffer_address, 0x00021000u);
    EXPECT_EQ(d.buffer_size, 100u);
    EXPECT_EQ(d.status, 0x8300);
}

TEST(PcnetDescriptors, Style0TakesTheAddressTopByteFromCsr2) {
    const std::array<uint8_t, 8> raw{0x00, 0x10, 0x02, 0x83, 0x9C, 0xFF, 0, 0};
    const auto d = pcnet::decode_transmit(SoftwareStyle::kLance, raw, 0x4500'0000);
    EXPECT_EQ(d.buffer_address, 0x4502'1000u);
    EXPECT_EQ(d.status, 0x8300);
}

TEST(PcnetDescriptors, Style0WritebackLeavesTheAddressByteAlone) {
    PcnetRig rig;
    rig.bring_up(SoftwareStyle::kLance);
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    rig.transmit_demand();
    const uint16_t tmd1 = rig.dma.get16(rig.tx_descriptor(0) + 2);
    EXPECT_EQ(tmd1 & 0x00FF, (PcnetRig::tx_buffer(0) >> 16) & 0xFF);
    EXPECT_EQ(tmd1 & 0xFF00, 0x0300);
}

}  // namespace
}  // namespace hvmm::testing
