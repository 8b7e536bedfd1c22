// IPv4 addresses, subnets and the Internet checksum.
#include "net/ipv4.h"

#include <gtest/gtest.h>

#include <vector>

#include "net/byte_reader.h"

namespace hvmm::net {
namespace {

TEST(NetIpv4, ParsesAndFormatsDottedQuads) {
    EXPECT_EQ(parse_ipv4("192.168.77.2"), Ipv4Address::of(192, 168, 77, 2));
    EXPECT_EQ(parse_ipv4("0.0.0.0"), Ipv4Address{});
    EXPECT_EQ(parse_ipv4("255.255.255.255"), kIpv4Broadcast);
    EXPECT_EQ(to_string(Ipv4Address::of(10, 0, 2, 15)), "10.0.2.15");
}

TEST(NetIpv4, RefusesAnythingButFourDecimalOctets) {
    for (const char* text : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "01.2.3.4",
                             "1..3.4", "1.2.3.4 ", "a.b.c.d", "1.2.3.4/24", "1234.1.1.1"}) {
        EXPECT_FALSE(parse_ipv4(text)) << text;
    }
}

TEST(NetIpv4, SubnetParsesWithItsPrefixAndRefusesHostBits) {
    const auto subnet = parse_ipv4_subnet("192.168.77.0/24");
    ASSERT_TRUE(subnet);
    EXPECT_EQ(subnet->mask(), 0xFFFFFF00u);
    EXPECT_TRUE(subnet->contains(Ipv4Address::of(192, 168, 77, 200)));
    EXPECT_FALSE(subnet->contains(Ipv4Address::of(192, 168, 78, 1)));
    EXPECT_EQ(subnet->broadcast(), Ipv4Address::of(192, 168, 77, 255));
    EXPECT_EQ(subnet->host(128), Ipv4Address::of(192, 168, 77, 128));
    EXPECT_EQ(to_string(*subnet), "192.168.77.0/24");
    EXPECT_FALSE(parse_ipv4_subnet("192.168.77.5/24"));
    EXPECT_FALSE(parse_ipv4_subnet("192.168.77.0/33"));
    EXPECT_FALSE(parse_ipv4_subnet("192.168.77.0"));
    EXPECT_EQ(parse_ipv4_subnet("0.0.0.0/0")->mask(), 0u);
}

TEST(NetIpv4, ChecksumMatchesRfc1071Example) {
    // RFC 1071 section 3: these bytes sum to 0xDDF2, so the checksum is its complement.
    const std::vector<uint8_t> bytes{0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7};
    EXPECT_EQ(internet_checksum(bytes), 0x220D);
}

TEST(NetIpv4, ChecksumOfDataWithItsChecksumIsZero) {
    std::vector<uint8_t> header{0x45, 0, 0,  0x54, 0, 0,  0x40, 0, 0x40, 1,
                                0,    0, 10, 0,    2, 15, 10,   0, 2,    2};
    const uint16_t sum = internet_checksum(header);
    header[10] = uint8_t(sum >> 8);
    header[11] = uint8_t(sum);
    EXPECT_EQ(internet_checksum(header), 0);
}

TEST(NetIpv4, ChecksumOfOddLengthPadsWithZero) {
    EXPECT_EQ(internet_checksum(std::vector<uint8_t>{0x12, 0x34, 0x56}),
              internet_checksum(std::vector<uint8_t>{0x12, 0x34, 0x56, 0x00}));
}

TEST(NetByteReader, ReadsBigEndianAndFailsPastTheEndForGood) {
    const std::vector<uint8_t> bytes{1, 2, 3, 4, 5, 6, 7};
    ByteReader reader(bytes);
    EXPECT_EQ(reader.u8(), 1);
    EXPECT_EQ(reader.be16(), 0x0203);
    EXPECT_EQ(reader.be32(), 0x04050607u);
    EXPECT_EQ(reader.remaining(), 0u);
    EXPECT_FALSE(reader.u8());
    EXPECT_TRUE(reader.failed());
    ByteReader short_read(bytes);
    EXPECT_FALSE(short_read.bytes(8));
    EXPECT_FALSE(short_read.u8()) << "a failed reader stays failed";
}

}  // namespace
}  // namespace hvmm::net
