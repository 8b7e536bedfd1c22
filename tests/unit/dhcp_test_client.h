// A DHCP client's frames and a reader for the server's replies, for the DHCP unit tests and the
// DHCP fuzz target (no gtest here, so both can use it). Written from RFC 2131/2132 directly, not
// through dhcp_message.h, so the parser is checked against an independent encoder.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "net/ipv4.h"
#include "net/mac_address.h"

namespace hvmm::testing {

using net::Ipv4Address;

struct ClientMessage {
    uint8_t type = 1;  // DISCOVER
    MacAddress mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
    uint32_t xid = 0x12345678;
    uint16_t flags = 0;
    Ipv4Address ciaddr;
    std::optional<Ipv4Address> requested;
    std::optional<Ipv4Address> server_id;
    // Addressing: a client without an address broadcasts from 0.0.0.0.
    MacAddress frame_destination = net::kBroadcastMac;
    Ipv4Address ip_source;
    Ipv4Address ip_destination = net::kIpv4Broadcast;
    // Ways to spoil it.
    uint8_t op = 1;
    uint8_t htype = 1;
    Ipv4Address giaddr;
    bool magic_cookie = true;
    bool end_option = true;
    std::vector<uint8_t> extra_options;  // raw, after the standard ones, before the end
    size_t padding = 0;                  // zero bytes after the end option
    uint16_t fragment_field = 0;         // IPv4 flags and fragment offset
};

inline void put16(std::vector<uint8_t>& v, uint16_t x) {
    v.push_back(uint8_t(x >> 8));
    v.push_back(uint8_t(x));
}
inline void put32(std::vector<uint8_t>& v, uint32_t x) {
    put16(v, uint16_t(x >> 16));
    put16(v, uint16_t(x));
}

inline std::vector<uint8_t> client_frame(const ClientMessage& m) {
    std::vector<uint8_t> bootp;
    bootp.push_back(m.op);
    bootp.push_back(m.htype);
    bootp.push_back(6);
    bootp.push_back(0);
    put32(bootp, m.xid);
    put16(bootp, 0);
    put16(bootp, m.flags);
    put32(bootp, m.ciaddr.value);
    put32(bootp, 0);
    put32(bootp, 0);
    put32(bootp, m.giaddr.value);
    bootp.insert(bootp.end(), m.mac.bytes.begin(), m.mac.bytes.end());
    bootp.resize(236);
    if (m.magic_cookie)
        put32(bootp, 0x63825363);
    bootp.insert(bootp.end(), {53, 1, m.type});
    if (m.requested) {
        bootp.insert(bootp.end(), {50, 4});
        put32(bootp, m.requested->value);
    }
    if (m.server_id) {
        bootp.insert(bootp.end(), {54, 4});
        put32(bootp, m.server_id->value);
    }
    bootp.insert(bootp.end(), {55, 4, 1, 3, 6, 15});  // parameter request list, as clients send
    bootp.insert(bootp.end(), m.extra_options.begin(), m.extra_options.end());
    if (m.end_option)
        bootp.push_back(255);
    bootp.insert(bootp.end(), m.padding, 0);

    std::vector<uint8_t> frame(m.frame_destination.bytes.begin(), m.frame_destination.bytes.end());
    frame.insert(frame.end(), m.mac.bytes.begin(), m.mac.bytes.end());
    put16(frame, 0x0800);
    const size_t ip_at = frame.size();
    const size_t udp_length = 8 + bootp.size();
    frame.insert(frame.end(), {0x45, 0});
    put16(frame, uint16_t(20 + udp_length));
    put16(frame, 0);
    put16(frame, m.fragment_field);
    frame.insert(frame.end(), {64, 17, 0, 0});
    put32(frame, m.ip_source.value);
    put32(frame, m.ip_destination.value);
    const uint16_t checksum = net::internet_checksum(std::span(frame).subspan(ip_at, 20));
    frame[ip_at + 10] = uint8_t(checksum >> 8);
    frame[ip_at + 11] = uint8_t(checksum);
    put16(frame, 68);
    put16(frame, 67);
    put16(frame, uint16_t(udp_length));
    put16(frame, 0);  // no UDP checksum, which UDP allows
    frame.insert(frame.end(), bootp.begin(), bootp.end());
    return frame;
}

// A server reply, read with every access checked (a malformed reply reads as nothing).
struct Reply {
    MacAddress frame_destination{}, frame_source{};
    Ipv4Address ip_source, ip_destination;
    bool ip_checksum_ok = false, udp_checksum_ok = false;
    size_t bootp_size = 0;
    uint8_t op = 0;
    uint32_t xid = 0;
    uint16_t flags = 0;
    Ipv4Address ciaddr, yiaddr;
    MacAddress chaddr{};
    std::map<uint8_t, std::vector<uint8_t>> options;

    uint8_t type() const {
        const auto it = options.find(53);
        return it == options.end() || it->second.size() != 1 ? 0 : it->second[0];
    }
    std::optional<uint32_t> u32(uint8_t code) const {
        const auto it = options.find(code);
        if (it == options.end() || it->second.size() != 4)
            return std::nullopt;
        const auto& b = it->second;
        return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
    }
    std::optional<Ipv4Address> address(uint8_t code) const {
        const auto v = u32(code);
        if (!v)
            return std::nullopt;
        return Ipv4Address{*v};
    }
};

inline std::optional<Reply> read_reply(const std::vector<uint8_t>& f) {
    if (f.size() < 14 + 20 + 8 + 240 || f[12] != 0x08 || f[13] != 0x00)
        return std::nullopt;
    auto be16 = [&](size_t at) { return uint16_t(f[at] << 8 | f[at + 1]); };
    auto be32 = [&](size_t at) { return uint32_t{be16(at)} << 16 | be16(at + 2); };
    Reply r;
    for (int i = 0; i < 6; ++i) {
        r.frame_destination.bytes[i] = f[i];
        r.frame_source.bytes[i] = f[6 + i];
    }
    const size_t ip = 14;
    if (f[ip] != 0x45 || f[ip + 9] != 17 || 14 + size_t{be16(ip + 2)} != f.size())
        return std::nullopt;
    r.ip_source = Ipv4Address{be32(ip + 12)};
    r.ip_destination = Ipv4Address{be32(ip + 16)};
    r.ip_checksum_ok = net::internet_checksum(std::span(f).subspan(ip, 20)) == 0;
    const size_t udp = ip + 20;
    const size_t udp_length = be16(udp + 4);
    if (udp + udp_length != f.size() || be16(udp) != 67 || be16(udp + 2) != 68)
        return std::nullopt;
    std::vector<uint8_t> pseudo;
    put32(pseudo, r.ip_source.value);
    put32(pseudo, r.ip_destination.value);
    put16(pseudo, 17);
    put16(pseudo, uint16_t(udp_length));
    r.udp_checksum_ok = be16(udp + 6) != 0 && net::checksum_finish(net::checksum_accumulate(
                                                  net::checksum_accumulate(0, pseudo),
                                                  std::span(f).subspan(udp, udp_length))) == 0;
    const size_t b = udp + 8;
    r.bootp_size = udp_length - 8;
    r.op = f[b];
    r.xid = be32(b + 4);
    r.flags = be16(b + 10);
    r.ciaddr = Ipv4Address{be32(b + 12)};
    r.yiaddr = Ipv4Address{be32(b + 16)};
    for (int i = 0; i < 6; ++i) r.chaddr.bytes[i] = f[b + 28 + i];
    if (be32(b + 236) != 0x63825363)
        return std::nullopt;
    size_t at = b + 240;
    while (at < f.size() && f[at] != 255) {
        if (f[at] == 0) {
            ++at;
            continue;
        }
        if (at + 2 > f.size() || at + 2 + f[at + 1] > f.size())
            return std::nullopt;
        r.options[f[at]] = std::vector<uint8_t>(f.begin() + at + 2, f.begin() + at + 2 + f[at + 1]);
        at += 2 + f[at + 1];
    }
    if (at >= f.size())
        return std::nullopt;  // no end option
    return r;
}

}  // namespace hvmm::testing
