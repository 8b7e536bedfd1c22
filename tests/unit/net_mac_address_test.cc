// The network layers' MAC helpers: text form both ways and the address kinds a switch judges.
#include "net/mac_address.h"

#include <gtest/gtest.h>

#include <unordered_set>

namespace hvmm::net {
namespace {

TEST(NetMacAddress, ParsesColonSeparatedHexInEitherCase) {
    const auto mac = parse_mac("52:54:00:Ab:cD:ef");
    ASSERT_TRUE(mac);
    EXPECT_EQ(*mac, (MacAddress{{0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF}}));
}

TEST(NetMacAddress, FormatsLowerCaseAndReadsItBack) {
    const MacAddress mac{{0x52, 0x54, 0x00, 0xAB, 0x0C, 0x01}};
    EXPECT_EQ(to_string(mac), "52:54:00:ab:0c:01");
    EXPECT_EQ(parse_mac(to_string(mac)), mac);
}

TEST(NetMacAddress, RefusesEveryOtherShape) {
    for (const char* text : {"", "52:54:00:12:34", "52:54:00:12:34:56:78", "52-54-00-12-34-56",
                             "5:54:00:12:34:56a", "52:54:00:12:34:5g", " 52:54:00:12:34:56",
                             "52:54:00:12:34:56 ", "52::54:00:12:34:5", "525400123456aabbccd"}) {
        EXPECT_FALSE(parse_mac(text)) << text;
    }
}

TEST(NetMacAddress, AcceptsGroupAddressesForCallersToJudge) {
    const auto mac = parse_mac("01:00:5e:00:00:01");
    ASSERT_TRUE(mac);
    EXPECT_TRUE(is_multicast(*mac));
    EXPECT_FALSE(is_unicast_station(*mac));
}

TEST(NetMacAddress, ClassifiesBroadcastMulticastLocalAndZero) {
    EXPECT_TRUE(is_broadcast(kBroadcastMac));
    EXPECT_TRUE(is_multicast(kBroadcastMac));
    const MacAddress qemu{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
    EXPECT_FALSE(is_multicast(qemu));
    EXPECT_TRUE(is_locally_administered(qemu));  // 0x52 has the U/L bit
    EXPECT_TRUE(is_unicast_station(qemu));
    const MacAddress vendor{{0x00, 0x0C, 0x29, 0x01, 0x02, 0x03}};  // a VMware OUI
    EXPECT_FALSE(is_locally_administered(vendor));
    EXPECT_TRUE(is_zero(MacAddress{}));
    EXPECT_FALSE(is_unicast_station(MacAddress{}));
}

TEST(NetMacAddress, ReadsFromFrameBytesAndOrdersAsAnInteger) {
    const uint8_t frame[12] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x52, 0x54, 0, 0, 0, 7};
    const MacAddress source = mac_from_bytes(std::span<const uint8_t, 6>(frame + 6, 6));
    EXPECT_EQ(source, (MacAddress{{0x52, 0x54, 0, 0, 0, 7}}));
    EXPECT_EQ(mac_to_u64(source), 0x525400000007ULL);
}

TEST(NetMacAddress, HashSpreadsAddressesThatShareAPrefix) {
    std::unordered_set<size_t> low_bits;
    for (uint8_t i = 0; i < 64; ++i) {
        low_bits.insert(MacAddressHash{}(MacAddress{{0x52, 0x54, 0, 0, 0, i}}) & 0xFF);
    }
    EXPECT_GT(low_bits.size(), 40u);
}

}  // namespace
}  // namespace hvmm::net
