// A guest's side of a user (NAT) network, by hand: ARP and TCP frames built and read byte by
// byte (RFC 826, RFC 791, RFC 9293) so the tests check libslirp's wire output independently.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dhcp_test_client.h"
#include "net/ipv4.h"
#include "net/mac_address.h"

namespace hvmm::testing {

using net::Ipv4Address;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;

inline uint16_t be16_at(std::span<const uint8_t> f, size_t at) {
    return uint16_t(f[at] << 8 | f[at + 1]);
}
inline uint32_t be32_at(std::span<const uint8_t> f, size_t at) {
    return uint32_t{be16_at(f, at)} << 16 | be16_at(f, at + 2);
}
inline MacAddress mac_at(std::span<const uint8_t> f, size_t at) {
    MacAddress mac{};
    for (size_t i = 0; i < 6; ++i) mac.bytes[i] = f[at + i];
    return mac;
}
inline void put_mac(std::vector<uint8_t>& v, const MacAddress& mac) {
    v.insert(v.end(), mac.bytes.begin(), mac.bytes.end());
}

struct Arp {
    uint16_t op = 1;  // 1 request, 2 reply
    MacAddress sender_mac{};
    Ipv4Address sender_ip;
    MacAddress target_mac{};
    Ipv4Address target_ip;
};

inline std::vector<uint8_t> arp_frame(const MacAddress& destination, const Arp& arp) {
    std::vector<uint8_t> f;
    put_mac(f, destination);
    put_mac(f, arp.sender_mac);
    put16(f, kEtherTypeArp);
    put16(f, 1);  // Ethernet
    put16(f, kEtherTypeIpv4);
    f.insert(f.end(), {6, 4});
    put16(f, arp.op);
    put_mac(f, arp.sender_mac);
    put32(f, arp.sender_ip.value);
    put_mac(f, arp.target_mac);
    put32(f, arp.target_ip.value);
    f.resize(60, 0);  // Ethernet's minimum without FCS
    return f;
}

inline std::optional<Arp> read_arp(std::span<const uint8_t> f) {
    if (f.size() < 42 || be16_at(f, 12) != kEtherTypeArp)
        return std::nullopt;
    return Arp{.op = be16_at(f, 20),
               .sender_mac = mac_at(f, 22),
               .sender_ip = Ipv4Address{be32_at(f, 28)},
               .target_mac = mac_at(f, 32),
               .target_ip = Ipv4Address{be32_at(f, 38)}};
}

inline constexpr uint16_t kEtherTypeIpv6 = 0x86DD;

// An ICMPv6 Router Solicitation from `source` (RFC 4861 4.1), with the source link-layer option:
// how a guest's IPv6 stack first speaks, and how libslirp learns the guest's IPv6 address.
inline std::vector<uint8_t> router_solicitation(const MacAddress& mac,
                                                const std::array<uint8_t, 16>& source) {
    const std::array<uint8_t, 16> all_routers{0xff, 0x02, 0, 0, 0, 0, 0, 0,
                                              0,    0,    0, 0, 0, 0, 0, 0x02};
    std::vector<uint8_t> icmp{133, 0, 0, 0, 0, 0, 0, 0, 1, 1};
    icmp.insert(icmp.end(), mac.bytes.begin(), mac.bytes.end());
    std::vector<uint8_t> pseudo(source.begin(), source.end());
    pseudo.insert(pseudo.end(), all_routers.begin(), all_routers.end());
    put32(pseudo, uint32_t(icmp.size()));
    put32(pseudo, 58);
    const uint16_t checksum =
        net::checksum_finish(net::checksum_accumulate(net::checksum_accumulate(0, pseudo), icmp));
    icmp[2] = uint8_t(checksum >> 8);
    icmp[3] = uint8_t(checksum);

    std::vector<uint8_t> f{0x33, 0x33, 0, 0, 0, 0x02};
    put_mac(f, mac);
    put16(f, kEtherTypeIpv6);
    f.insert(f.end(), {0x60, 0, 0, 0});
    put16(f, uint16_t(icmp.size()));
    f.insert(f.end(), {58, 255});  // ICMPv6, hop limit 255 as NDP requires
    f.insert(f.end(), source.begin(), source.end());
    f.insert(f.end(), all_routers.begin(), all_routers.end());
    f.insert(f.end(), icmp.begin(), icmp.end());
    return f;
}

// An IPv6 TCP segment's destination and flags (no extension headers, as libslirp sends).
struct Tcp6Header {
    std::array<uint8_t, 16> destination{};
    uint16_t destination_port = 0;
    uint8_t flags = 0;
};

inline std::optional<Tcp6Header> read_tcp6(std::span<const uint8_t> f) {
    if (f.size() < 14 + 40 + 20 || be16_at(f, 12) != kEtherTypeIpv6 || f[14 + 6] != 6)
        return std::nullopt;
    Tcp6Header header;
    for (size_t i = 0; i < 16; ++i) header.destination[i] = f[14 + 24 + i];
    header.destination_port = be16_at(f, 14 + 40 + 2);
    header.flags = f[14 + 40 + 13];
    return header;
}

namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
}

struct TcpSegment {
    MacAddress destination_mac{}, source_mac{};
    Ipv4Address source_ip, destination_ip;
    uint16_t source_port = 0, destination_port = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = 0;
    uint16_t window = 65535;
    std::vector<uint8_t> payload;
    bool checksums_ok = false;  // on reading: IPv4 header and TCP both verified
};

inline uint16_t tcp_checksum(Ipv4Address source, Ipv4Address destination,
                             std::span<const uint8_t> segment) {
    std::vector<uint8_t> pseudo;
    put32(pseudo, source.value);
    put32(pseudo, destination.value);
    put16(pseudo, 6);
    put16(pseudo, uint16_t(segment.size()));
    return net::checksum_finish(
        net::checksum_accumulate(net::checksum_accumulate(0, pseudo), segment));
}

inline std::vector<uint8_t> tcp_frame(const TcpSegment& s) {
    std::vector<uint8_t> tcp;
    put16(tcp, s.source_port);
    put16(tcp, s.destination_port);
    put32(tcp, s.seq);
    put32(tcp, s.ack);
    tcp.push_back(5 << 4);  // 20-byte header, no options
    tcp.push_back(s.flags);
    put16(tcp, s.window);
    put16(tcp, 0);  // checksum, below
    put16(tcp, 0);  // urgent pointer
    tcp.insert(tcp.end(), s.payload.begin(), s.payload.end());
    const uint16_t checksum = tcp_checksum(s.source_ip, s.destination_ip, tcp);
    tcp[16] = uint8_t(checksum >> 8);
    tcp[17] = uint8_t(checksum);

    std::vector<uint8_t> f;
    put_mac(f, s.destination_mac);
    put_mac(f, s.source_mac);
    put16(f, kEtherTypeIpv4);
    const size_t ip_at = f.size();
    f.insert(f.end(), {0x45, 0});
    put16(f, uint16_t(20 + tcp.size()));
    put16(f, 0x1234);  // identification
    put16(f, 0x4000);  // don't fragment
    f.insert(f.end(), {64, 6, 0, 0});
    put32(f, s.source_ip.value);
    put32(f, s.destination_ip.value);
    const uint16_t ip_checksum = net::internet_checksum(std::span(f).subspan(ip_at, 20));
    f[ip_at + 10] = uint8_t(ip_checksum >> 8);
    f[ip_at + 11] = uint8_t(ip_checksum);
    f.insert(f.end(), tcp.begin(), tcp.end());
    return f;
}

inline std::optional<TcpSegment> read_tcp(std::span<const uint8_t> f) {
    if (f.size() < 14 + 20 + 20 || be16_at(f, 12) != kEtherTypeIpv4)
        return std::nullopt;
    const size_t ip = 14;
    const size_t ip_header = size_t{f[ip] & 0x0Fu} * 4;
    const size_t total = be16_at(f, ip + 2);
    if ((f[ip] >> 4) != 4 || f[ip + 9] != 6 || ip_header < 20 || ip + total > f.size() ||
        total < ip_header + 20)
        return std::nullopt;
    TcpSegment s;
    s.destination_mac = mac_at(f, 0);
    s.source_mac = mac_at(f, 6);
    s.source_ip = Ipv4Address{be32_at(f, ip + 12)};
    s.destination_ip = Ipv4Address{be32_at(f, ip + 16)};
    const auto segment = f.subspan(ip + ip_header, total - ip_header);
    const size_t tcp_header = size_t(segment[12] >> 4) * 4;
    if (tcp_header < 20 || tcp_header > segment.size())
        return std::nullopt;
    s.source_port = be16_at(segment, 0);
    s.destination_port = be16_at(segment, 2);
    s.seq = be32_at(segment, 4);
    s.ack = be32_at(segment, 8);
    s.flags = segment[13];
    s.window = be16_at(segment, 14);
    s.payload.assign(segment.begin() + tcp_header, segment.end());
    s.checksums_ok = net::internet_checksum(f.subspan(ip, ip_header)) == 0 &&
                     tcp_checksum(s.source_ip, s.destination_ip, segment) == 0;
    return s;
}

}  // namespace hvmm::testing
