// DHCP on the wire: a client's frame read with every field bounds-checked, hostile frames
// dropped with the reason named, and reply frames built with correct checksums.
#include "vmnet/dhcp_message.h"

#include <gtest/gtest.h>

#include "dhcp_test_client.h"

namespace hvmm::vmnet::dhcp {
namespace {

using testing::client_frame;
using testing::ClientMessage;

const MacAddress kServerMac{{0x02, 0x68, 0x76, 0x6D, 0x00, 0xFE}};
const Ipv4Address kServerIp = Ipv4Address::of(192, 168, 77, 254);
const Ipv4Address kSubnetBroadcast = Ipv4Address::of(192, 168, 77, 255);

std::expected<Request, Drop> parse(const std::vector<uint8_t>& frame) {
    return parse_request(frame, kServerMac, kServerIp, kSubnetBroadcast);
}

TEST(VmnetDhcpMessage, ReadsADiscover) {
    ClientMessage m;
    m.flags = kBroadcastFlag;
    m.requested = Ipv4Address::of(192, 168, 77, 130);
    const auto request = parse(client_frame(m));
    ASSERT_TRUE(request) << to_string(request.error());
    EXPECT_EQ(request->type, MessageType::kDiscover);
    EXPECT_EQ(request->xid, 0x12345678u);
    EXPECT_EQ(request->flags, kBroadcastFlag);
    EXPECT_EQ(request->chaddr, m.mac);
    EXPECT_EQ(request->frame_source, m.mac);
    EXPECT_EQ(request->requested_address, m.requested);
    EXPECT_FALSE(request->server_identifier);
}

TEST(VmnetDhcpMessage, ReadsAUnicastRenewal) {
    ClientMessage m;
    m.type = 3;
    m.ciaddr = m.ip_source = Ipv4Address::of(192, 168, 77, 128);
    m.frame_destination = kServerMac;
    m.ip_destination = kServerIp;
    const auto request = parse(client_frame(m));
    ASSERT_TRUE(request);
    EXPECT_EQ(request->type, MessageType::kRequest);
    EXPECT_EQ(request->ciaddr, m.ciaddr);
}

TEST(VmnetDhcpMessage, OtherTrafficIsNotForTheServer) {
    ClientMessage m;
    auto frame = client_frame(m);
    frame[12] = 0x86;  // IPv6
    frame[13] = 0xDD;
    EXPECT_EQ(parse(frame).error(), Drop::kNotForServer);
    m.frame_destination = MacAddress{{0x52, 0x54, 0, 0, 0, 9}};  // another station
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kNotForServer);
    m = ClientMessage{};
    m.ip_destination = Ipv4Address::of(192, 168, 77, 9);
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kNotForServer);
    frame = client_frame(ClientMessage{});
    frame[14 + 20 + 3] = 53;  // UDP to the DNS port
    EXPECT_EQ(parse(frame).error(), Drop::kNotForServer);
    EXPECT_EQ(parse({}).error(), Drop::kNotForServer);
}

TEST(VmnetDhcpMessage, EveryTruncationIsDroppedNeverRead) {
    const auto frame = client_frame(ClientMessage{});
    for (size_t length = 0; length < frame.size(); ++length) {
        const std::vector<uint8_t> cut(frame.begin(), frame.begin() + length);
        const auto request = parse(cut);
        EXPECT_FALSE(request) << "length " << length;
    }
}

TEST(VmnetDhcpMessage, TruncatedHeadersAreNamedAsSuch) {
    const auto frame = client_frame(ClientMessage{});
    EXPECT_EQ(parse({frame.begin(), frame.begin() + 30}).error(), Drop::kTruncated);
    EXPECT_EQ(parse({frame.begin(), frame.begin() + 14 + 20 + 8 + 100}).error(), Drop::kTruncated);
}

TEST(VmnetDhcpMessage, EthernetPaddingAfterThePacketIsIgnored) {
    auto frame = client_frame(ClientMessage{});
    frame.insert(frame.end(), 40, 0xAA);
    EXPECT_TRUE(parse(frame));
}

TEST(VmnetDhcpMessage, OversizedFrameIsDropped) {
    ClientMessage m;
    m.padding = 1400;  // a legal packet, but bigger than any DHCP frame needs to be
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kOversize);
    m.padding = 1514 - client_frame(ClientMessage{}).size();
    EXPECT_TRUE(parse(client_frame(m))) << "1514 bytes is still taken";
}

TEST(VmnetDhcpMessage, OptionRunningPastTheEndIsDropped) {
    ClientMessage m;
    m.end_option = false;
    m.extra_options = {12, 200, 'h', 'o', 's', 't'};  // host name claiming 200 bytes
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kOptionOverrun);
    m.extra_options = {12};  // a code with no length byte at all
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kOptionOverrun);
}

TEST(VmnetDhcpMessage, MissingEndOptionIsDropped) {
    ClientMessage m;
    m.end_option = false;
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kNoEndOption);
}

TEST(VmnetDhcpMessage, MissingMagicCookieIsDropped) {
    ClientMessage m;
    m.magic_cookie = false;
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kNoMagicCookie);
}

TEST(VmnetDhcpMessage, WrongLengthOrMissingMessageTypeIsDropped) {
    ClientMessage m;
    m.type = 2;  // OFFER: a server's message
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kBadOption);
    m.type = 99;
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kBadOption);
    m = ClientMessage{};
    m.extra_options = {54, 2, 1, 2};  // server identifier of 2 bytes
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kBadOption);
    m = ClientMessage{};
    auto frame = client_frame(m);
    const size_t options = 14 + 20 + 8 + 240;
    ASSERT_EQ(frame[options], 53);
    frame[options] = 12;  // the message type becomes a host name
    EXPECT_EQ(parse(frame).error(), Drop::kBadOption);
}

TEST(VmnetDhcpMessage, BadIpHeaderChecksumIsDropped) {
    auto frame = client_frame(ClientMessage{});
    frame[14 + 8] ^= 0x01;  // TTL changed, checksum not updated
    EXPECT_EQ(parse(frame).error(), Drop::kBadIpChecksum);
}

TEST(VmnetDhcpMessage, BadIpVersionOrLengthsAreDropped) {
    auto frame = client_frame(ClientMessage{});
    frame[14] = 0x44;  // header length 16
    EXPECT_EQ(parse(frame).error(), Drop::kBadIpHeader);
    frame = client_frame(ClientMessage{});
    frame[14] = 0x65;  // version 6
    EXPECT_EQ(parse(frame).error(), Drop::kBadIpHeader);
    frame = client_frame(ClientMessage{});
    frame[14 + 2] = 0xFF;  // total length beyond the frame
    EXPECT_EQ(parse(frame).error(), Drop::kTruncated);
    frame = client_frame(ClientMessage{});
    frame[14] = 0x4F;  // a 60-byte header: UDP now starts inside BOOTP, nothing parses
    EXPECT_FALSE(parse(frame));
}

TEST(VmnetDhcpMessage, FragmentIsDropped) {
    ClientMessage m;
    m.fragment_field = 0x2000;  // more fragments
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kFragment);
    m.fragment_field = 0x0010;  // a later fragment: not even a UDP header to read
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kNotForServer);
}

TEST(VmnetDhcpMessage, BadUdpLengthIsDropped) {
    auto frame = client_frame(ClientMessage{});
    frame[14 + 20 + 4] = 0;
    frame[14 + 20 + 5] = 4;  // shorter than its own header
    EXPECT_EQ(parse(frame).error(), Drop::kBadUdpLength);
    frame[14 + 20 + 4] = 0x40;  // longer than the packet
    EXPECT_EQ(parse(frame).error(), Drop::kBadUdpLength);
}

TEST(VmnetDhcpMessage, RepliesRelayedAndNonEthernetMessagesAreDropped) {
    ClientMessage m;
    m.op = 2;
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kNotBootRequest);
    m = ClientMessage{};
    m.htype = 6;
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kNotBootRequest);
    m = ClientMessage{};
    m.mac = net::kBroadcastMac;
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kNotBootRequest);
    m = ClientMessage{};
    m.giaddr = Ipv4Address::of(10, 0, 0, 1);
    EXPECT_EQ(parse(client_frame(m)).error(), Drop::kRelayed);
}

TEST(VmnetDhcpMessage, FirstInstanceOfARepeatedOptionWins) {
    ClientMessage m;
    m.requested = Ipv4Address::of(192, 168, 77, 140);
    m.extra_options = {50, 4, 192, 168, 77, 141};
    const auto request = parse(client_frame(m));
    ASSERT_TRUE(request);
    EXPECT_EQ(request->requested_address, m.requested);
}

TEST(VmnetDhcpMessage, BuiltReplyHasCorrectChecksumsAndMinimumSize) {
    OptionWriter options;
    ASSERT_TRUE(options.add_u8(option::kMessageType, 2));
    ASSERT_TRUE(options.add_address(option::kServerIdentifier, kServerIp));
    const auto frame = build_reply({.frame_destination = net::kBroadcastMac,
                                    .frame_source = kServerMac,
                                    .ip_source = kServerIp,
                                    .ip_destination = net::kIpv4Broadcast},
                                   {.xid = 7,
                                    .flags = kBroadcastFlag,
                                    .yiaddr = Ipv4Address::of(192, 168, 77, 128),
                                    .chaddr = MacAddress{{0x52, 0x54, 0, 1, 2, 3}}},
                                   options);
    const auto reply = testing::read_reply(frame);
    ASSERT_TRUE(reply);
    EXPECT_TRUE(reply->ip_checksum_ok);
    EXPECT_TRUE(reply->udp_checksum_ok);
    EXPECT_GE(reply->bootp_size, 300u);
    EXPECT_EQ(reply->op, 2);
    EXPECT_EQ(reply->xid, 7u);
    EXPECT_EQ(reply->flags, kBroadcastFlag);
    EXPECT_EQ(reply->yiaddr, Ipv4Address::of(192, 168, 77, 128));
    EXPECT_EQ(reply->type(), 2);
    EXPECT_EQ(reply->address(option::kServerIdentifier), kServerIp);
}

TEST(VmnetDhcpMessage, OptionWriterRefusesWhatWouldNotFit) {
    OptionWriter options;
    const std::vector<uint8_t> big(255, 'x');
    EXPECT_TRUE(options.add(15, big));
    EXPECT_FALSE(options.add(15, big)) << "312 bytes of options at most";
    EXPECT_FALSE(options.add(15, std::vector<uint8_t>(256, 'x')));
    EXPECT_EQ(options.bytes().size(), 257u);
}

TEST(VmnetDhcpMessage, ArpRequestIsReadAndAnswered) {
    const MacAddress client{{0x52, 0x54, 0, 1, 2, 3}};
    std::vector<uint8_t> frame(6, 0xFF);
    frame.insert(frame.end(), client.bytes.begin(), client.bytes.end());
    frame.insert(frame.end(), {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1});
    frame.insert(frame.end(), client.bytes.begin(), client.bytes.end());
    frame.insert(frame.end(), {192, 168, 77, 128, 0, 0, 0, 0, 0, 0, 192, 168, 77, 254});
    const auto arp = parse_arp_request(frame);
    ASSERT_TRUE(arp);
    EXPECT_EQ(arp->target_ip, kServerIp);
    EXPECT_EQ(arp->sender_ip, Ipv4Address::of(192, 168, 77, 128));
    const auto reply = build_arp_reply(*arp, kServerMac, kServerIp);
    ASSERT_EQ(reply.size(), 60u);
    EXPECT_EQ(std::vector<uint8_t>(reply.begin(), reply.begin() + 6),
              std::vector<uint8_t>(client.bytes.begin(), client.bytes.end()));
    EXPECT_EQ(reply[21], 2) << "an ARP reply";
    EXPECT_EQ(std::vector<uint8_t>(reply.begin() + 28, reply.begin() + 32),
              (std::vector<uint8_t>{192, 168, 77, 254}));
    EXPECT_EQ(parse_arp_request({frame.begin(), frame.begin() + 30}).error(), Drop::kTruncated);
}

}  // namespace
}  // namespace hvmm::vmnet::dhcp
