// Address filtering: physical, broadcast, multicast through LADRF, promiscuous, and the
// descriptor bits that say which one matched.
#include <gtest/gtest.h>

#include "devices/pcnet/pcnet_address_filter.h"
#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

namespace st = pcnet::status;
constexpr std::array<uint8_t, 6> kMulticast{0x01, 0x00, 0x5E, 0x00, 0x00, 0x01};  // 224.0.0.1

// pcnet32_load_multicast: ether_crc_le over the address, top 6 bits select the LADRF bit.
uint64_t ladrf_for(std::span<const uint8_t, 6> address) {
    uint32_t crc = 0xFFFFFFFF;
    for (uint8_t byte : address) {
        for (int bit = 0; bit < 8; ++bit) {
            crc = ((crc ^ byte) & 1) ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            byte >>= 1;
        }
    }
    return uint64_t{1} << (crc >> 26);
}

TEST(PcnetFilter, AcceptsOwnAddressWithPam) {
    PcnetRig rig;
    rig.bring_up();
    rig.backend.inject(make_frame(kTestMac.bytes, 64));
    EXPECT_EQ(rig.rx_status(0) & (st::kOwn | st::kPam), st::kPam);
}

TEST(PcnetFilter, RejectsOtherUnicast) {
    PcnetRig rig;
    rig.bring_up();
    rig.backend.inject(make_frame(kOtherHost, 64));
    EXPECT_TRUE(rig.rx_status(0) & st::kOwn);
    EXPECT_EQ(rig.chip.counters().rx_dropped_filtered, 1u);
}

TEST(PcnetFilter, AcceptsBroadcastWithBamUnlessDrcvbc) {
    PcnetRig rig;
    rig.bring_up();
    rig.backend.inject(make_frame(kBroadcast, 64));
    EXPECT_EQ(rig.rx_status(0) & (st::kOwn | st::kBam), st::kBam);

    PcnetRig disabled;
    disabled.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 4, 0x4000);  // DRCVBC
    disabled.backend.inject(make_frame(kBroadcast, 64));
    EXPECT_TRUE(disabled.rx_status(0) & st::kOwn);
}

TEST(PcnetFilter, DrcvpaRejectsOwnAddress) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 4, 0x2000);
    rig.backend.inject(make_frame(kTestMac.bytes, 64));
    EXPECT_TRUE(rig.rx_status(0) & st::kOwn);
}

TEST(PcnetFilter, MulticastPassesOnlyWithItsLadrfBitSet) {
    PcnetRig rig;
    rig.bring_up();
    rig.backend.inject(make_frame(kMulticast, 64));
    EXPECT_TRUE(rig.rx_status(0) & st::kOwn);

    PcnetRig joined;
    joined.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 4, 0, ladrf_for(kMulticast));
    joined.backend.inject(make_frame(kMulticast, 64));
    EXPECT_EQ(joined.rx_status(0) & (st::kOwn | st::kLafm), st::kLafm);
}

TEST(PcnetFilter, LadrfWrittenThroughCsr8To11WhileSuspendedTakesEffect) {
    PcnetRig rig;
    rig.bring_up();
    const uint64_t ladrf = ladrf_for(kMulticast);
    rig.set_csr(5, 0x0001);  // pcnet32_set_multicast_list suspends, loads CSR8-11, resumes
    for (unsigned i = 0; i < 4; ++i) rig.set_csr(8 + i, static_cast<uint16_t>(ladrf >> (16 * i)));
    rig.set_csr(5, 0x0000);
    rig.backend.inject(make_frame(kMulticast, 64));
    EXPECT_FALSE(rig.rx_status(0) & st::kOwn);
}

TEST(PcnetFilter, HashMatchesTheDriversComputation) {
    for (uint8_t last = 0; last < 64; ++last) {
        const std::array<uint8_t, 6> address{0x01, 0x00, 0x5E, 0x10, 0x20, last};
        EXPECT_EQ(uint64_t{1} << pcnet::logical_address_hash(address), ladrf_for(address));
    }
}

TEST(PcnetFilter, PromiscuousAcceptsEverythingFromCsr15) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(5, 0x0001);
    rig.set_csr(15, 0x8000);
    rig.set_csr(5, 0x0000);
    rig.backend.inject(make_frame(kOtherHost, 64));
    rig.backend.inject(make_frame(kMulticast, 64));
    EXPECT_FALSE(rig.rx_status(0) & st::kOwn);
    EXPECT_FALSE(rig.rx_status(1) & st::kOwn);
    EXPECT_EQ(rig.rx_status(0) & (st::kPam | st::kBam | st::kLafm), 0);
}

TEST(PcnetFilter, ModeWritesAreIgnoredWhileRunning) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(15, 0x8000);
    EXPECT_EQ(rig.csr(15), 0);
}

}  // namespace
}  // namespace hvmm::testing
