#include "vmnet/dhcp_message.h"

#include <algorithm>

#include "net/byte_reader.h"
#include "net/frame_limits.h"

namespace hvmm::vmnet::dhcp {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint8_t kProtocolUdp = 17;
constexpr uint32_t kMagicCookie = 0x63825363;  // 99.130.83.99 (RFC 2131 section 3)
constexpr uint8_t kBootRequest = 1;
constexpr uint8_t kBootReply = 2;
constexpr uint8_t kHardwareEthernet = 1;
constexpr size_t kIpv4HeaderSize = 20;
constexpr size_t kUdpHeaderSize = 8;
// op .. file: the fixed part of a BOOTP message before the magic cookie.
constexpr size_t kBootpFixedSize = 236;
constexpr size_t kBootpMinimumSize = 300;
constexpr size_t kArpPayloadSize = 28;
constexpr size_t kMinimumFrameSize = 60;

template <size_t N>
Ipv4Address address_of(std::span<const uint8_t, N> bytes) {
    static_assert(N == 4);
    return Ipv4Address::from_bytes(bytes);
}

// Appends big-endian fields to a frame being built.
class Writer {
  public:
    explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
    void u8(uint8_t v) { out_.push_back(v); }
    void be16(uint16_t v) {
        u8(static_cast<uint8_t>(v >> 8));
        u8(static_cast<uint8_t>(v));
    }
    void be32(uint32_t v) {
        be16(static_cast<uint16_t>(v >> 16));
        be16(static_cast<uint16_t>(v));
    }
    void mac(const MacAddress& m) { out_.insert(out_.end(), m.bytes.begin(), m.bytes.end()); }
    void address(Ipv4Address a) { be32(a.value); }
    void bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void zeros(size_t n) { out_.insert(out_.end(), n, 0); }

  private:
    std::vector<uint8_t>& out_;
};

void put_be16(std::vector<uint8_t>& out, size_t at, uint16_t v) {
    out[at] = static_cast<uint8_t>(v >> 8);
    out[at + 1] = static_cast<uint8_t>(v);
}

}  // namespace

std::string_view to_string(Drop drop) {
    switch (drop) {
        case Drop::kNotForServer:
            return "not for the server";
        case Drop::kOversize:
            return "oversized frame";
        case Drop::kTruncated:
            return "truncated";
        case Drop::kBadIpHeader:
            return "bad IPv4 header";
        case Drop::kBadIpChecksum:
            return "bad IPv4 header checksum";
        case Drop::kFragment:
            return "IPv4 fragment";
        case Drop::kBadUdpLength:
            return "bad UDP length";
        case Drop::kNotBootRequest:
            return "not an Ethernet BOOTREQUEST";
        case Drop::kRelayed:
            return "relayed (giaddr set)";
        case Drop::kNoMagicCookie:
            return "no DHCP magic cookie";
        case Drop::kOptionOverrun:
            return "option runs past the end";
        case Drop::kNoEndOption:
            return "no end option";
        case Drop::kBadOption:
            return "bad or missing option";
    }
    return "unknown";
}

std::expected<Request, Drop> parse_request(std::span<const uint8_t> frame,
                                           const MacAddress& server_mac, Ipv4Address server_ip,
                                           Ipv4Address subnet_broadcast) {
    net::ByteReader ethernet(frame);
    const auto destination = ethernet.fixed<6>();
    const auto source = ethernet.fixed<6>();
    const auto ether_type = ethernet.be16();
    if (!ether_type || *ether_type != kEtherTypeIpv4) {
        return std::unexpected(Drop::kNotForServer);
    }
    const MacAddress frame_destination = net::mac_from_bytes(*destination);
    if (!net::is_broadcast(frame_destination) && frame_destination != server_mac) {
        return std::unexpected(Drop::kNotForServer);
    }

    // IPv4 header. Lengths come from the packet, so each is checked against what is really
    // there before it is used to slice; Ethernet padding after total_length is ignored.
    const auto ip = frame.subspan(net::kEthernetHeaderSize);
    net::ByteReader ip_reader(ip);
    const auto version_ihl = ip_reader.u8();
    ip_reader.skip(1);  // DSCP/ECN
    const auto total_length = ip_reader.be16();
    ip_reader.skip(2);  // identification
    const auto fragment = ip_reader.be16();
    ip_reader.skip(1);  // TTL
    const auto protocol = ip_reader.u8();
    ip_reader.skip(2);  // header checksum, verified over the whole header below
    ip_reader.skip(4);  // source
    const auto ip_destination = ip_reader.fixed<4>();
    if (ip_reader.failed()) {
        return std::unexpected(Drop::kTruncated);
    }
    if (*protocol != kProtocolUdp) {
        return std::unexpected(Drop::kNotForServer);
    }
    const Ipv4Address destination_address = address_of(*ip_destination);
    if (destination_address != net::kIpv4Broadcast && destination_address != server_ip &&
        destination_address != subnet_broadcast) {
        return std::unexpected(Drop::kNotForServer);
    }
    if ((*version_ihl >> 4) != 4) {
        return std::unexpected(Drop::kBadIpHeader);
    }
    const size_t header_length = size_t{*version_ihl & 0x0Fu} * 4;
    if (header_length < kIpv4HeaderSize || *total_length < header_length) {
        return std::unexpected(Drop::kBadIpHeader);
    }
    if (*total_length > ip.size()) {
        return std::unexpected(Drop::kTruncated);
    }
    if ((*fragment & 0x1FFF) != 0) {
        return std::unexpected(Drop::kNotForServer);  // a later fragment: no UDP header to judge
    }
    const auto packet = ip.first(*total_length);
    const auto udp = packet.subspan(header_length);
    net::ByteReader udp_reader(udp);
    const auto source_port = udp_reader.be16();
    const auto destination_port = udp_reader.be16();
    const auto udp_length = udp_reader.be16();
    if (udp_reader.failed()) {
        return std::unexpected(Drop::kTruncated);
    }
    (void)source_port;  // clients use 68, but nothing here depends on it
    if (*destination_port != kServerPort) {
        return std::unexpected(Drop::kNotForServer);
    }

    // From here on the frame is addressed to a DHCP server: whatever is wrong with it is a drop.
    if (frame.size() > kMaxFrameSize) {
        return std::unexpected(Drop::kOversize);
    }
    if (net::internet_checksum(packet.first(header_length)) != 0) {
        return std::unexpected(Drop::kBadIpChecksum);
    }
    if ((*fragment & 0x2000) != 0) {
        return std::unexpected(Drop::kFragment);
    }
    // The UDP checksum is not verified: a guest using checksum offload may hand over a partial
    // one, and the IPv4 header checksum and the parse below already catch corruption that
    // matters on a virtual wire.
    if (*udp_length < kUdpHeaderSize || *udp_length > udp.size()) {
        return std::unexpected(Drop::kBadUdpLength);
    }

    net::ByteReader bootp(udp.subspan(kUdpHeaderSize, *udp_length - kUdpHeaderSize));
    const auto op = bootp.u8();
    const auto htype = bootp.u8();
    const auto hlen = bootp.u8();
    bootp.skip(1);  // hops
    const auto xid = bootp.be32();
    bootp.skip(2);  // secs
    const auto flags = bootp.be16();
    const auto ciaddr = bootp.fixed<4>();
    bootp.skip(4);  // yiaddr
    bootp.skip(4);  // siaddr
    const auto giaddr = bootp.fixed<4>();
    const auto chaddr = bootp.fixed<16>();
    bootp.skip(64 + 128);  // sname, file
    if (bootp.failed()) {
        return std::unexpected(Drop::kTruncated);
    }
    if (*op != kBootRequest || *htype != kHardwareEthernet || *hlen != 6) {
        return std::unexpected(Drop::kNotBootRequest);
    }
    const MacAddress client = net::mac_from_bytes(chaddr->first<6>());
    if (!net::is_unicast_station(client)) {
        // A group or zero chaddr would turn a "unicast" reply into a broadcast, or name nobody.
        return std::unexpected(Drop::kNotBootRequest);
    }
    if (!address_of(*giaddr).is_zero()) {
        return std::unexpected(Drop::kRelayed);
    }
    const auto cookie = bootp.be32();
    if (!cookie || *cookie != kMagicCookie) {
        return std::unexpected(Drop::kNoMagicCookie);
    }

    Request request;
    request.frame_source = net::mac_from_bytes(*source);
    request.ip_source = Ipv4Address::from_bytes(packet.subspan<12, 4>());
    request.xid = *xid;
    request.flags = *flags;
    request.ciaddr = address_of(*ciaddr);
    request.chaddr = client;

    // Options: code, length, value, to the end option. Only the first instance of each option
    // is used (those read here are fixed-length, so RFC 3396 concatenation does not apply);
    // option overload (52) is not followed, since none of the options read here are worth it.
    std::optional<uint8_t> message_type;
    while (true) {
        const auto code = bootp.u8();
        if (!code) {
            return std::unexpected(Drop::kNoEndOption);
        }
        if (*code == option::kPad) {
            continue;
        }
        if (*code == option::kEnd) {
            break;
        }
        const auto length = bootp.u8();
        const auto value = length ? bootp.bytes(*length) : std::nullopt;
        if (!value) {
            return std::unexpected(Drop::kOptionOverrun);
        }
        switch (*code) {
            case option::kMessageType:
                if (value->size() != 1)
                    return std::unexpected(Drop::kBadOption);
                if (!message_type)
                    message_type = (*value)[0];
                break;
            case option::kRequestedAddress:
                if (value->size() != 4)
                    return std::unexpected(Drop::kBadOption);
                if (!request.requested_address)
                    request.requested_address = Ipv4Address::from_bytes(value->first<4>());
                break;
            case option::kServerIdentifier:
                if (value->size() != 4)
                    return std::unexpected(Drop::kBadOption);
                if (!request.server_identifier)
                    request.server_identifier = Ipv4Address::from_bytes(value->first<4>());
                break;
            default:
                break;
        }
    }
    switch (message_type.value_or(0)) {
        case static_cast<uint8_t>(MessageType::kDiscover):
        case static_cast<uint8_t>(MessageType::kRequest):
        case static_cast<uint8_t>(MessageType::kDecline):
        case static_cast<uint8_t>(MessageType::kRelease):
        case static_cast<uint8_t>(MessageType::kInform):
            request.type = static_cast<MessageType>(*message_type);
            return request;
        default:
            // Missing, unknown, or a server's message type coming from a client.
            return std::unexpected(Drop::kBadOption);
    }
}

std::expected<ArpRequest, Drop> parse_arp_request(std::span<const uint8_t> frame) {
    net::ByteReader reader(frame);
    reader.skip(12);
    const auto ether_type = reader.be16();
    if (!ether_type || *ether_type != kEtherTypeArp) {
        return std::unexpected(Drop::kNotForServer);
    }
    const auto htype = reader.be16();
    const auto ptype = reader.be16();
    const auto hlen = reader.u8();
    const auto plen = reader.u8();
    const auto op = reader.be16();
    const auto sender_mac = reader.fixed<6>();
    const auto sender_ip = reader.fixed<4>();
    reader.skip(6);  // target hardware address: unknown to the asker
    const auto target_ip = reader.fixed<4>();
    if (reader.failed()) {
        return std::unexpected(Drop::kTruncated);
    }
    if (*htype != kHardwareEthernet || *ptype != kEtherTypeIpv4 || *hlen != 6 || *plen != 4 ||
        *op != 1) {
        return std::unexpected(Drop::kNotForServer);
    }
    return ArpRequest{net::mac_from_bytes(*sender_mac), address_of(*sender_ip),
                      address_of(*target_ip)};
}

bool OptionWriter::add(uint8_t code, std::span<const uint8_t> value) {
    if (value.size() > 255 || size_ + 2 + value.size() > kCapacity) {
        return false;
    }
    bytes_[size_++] = code;
    bytes_[size_++] = static_cast<uint8_t>(value.size());
    std::copy(value.begin(), value.end(), bytes_.begin() + static_cast<std::ptrdiff_t>(size_));
    size_ += value.size();
    return true;
}

bool OptionWriter::add_u8(uint8_t code, uint8_t value) {
    return add(code, std::span<const uint8_t>(&value, 1));
}

bool OptionWriter::add_u32(uint8_t code, uint32_t value) {
    const std::array<uint8_t, 4> b{static_cast<uint8_t>(value >> 24),
                                   static_cast<uint8_t>(value >> 16),
                                   static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)};
    return add(code, b);
}

bool OptionWriter::add_address(uint8_t code, Ipv4Address address) {
    return add_u32(code, address.value);
}

bool OptionWriter::add_addresses(uint8_t code, std::span<const Ipv4Address> addresses) {
    std::array<uint8_t, 252> b{};  // 63 addresses: more than any option length allows anyway
    if (addresses.size() > b.size() / 4) {
        return false;
    }
    for (size_t i = 0; i < addresses.size(); ++i) {
        addresses[i].to_bytes(std::span<uint8_t, 4>(b.data() + 4 * i, 4));
    }
    return add(code, std::span<const uint8_t>(b.data(), 4 * addresses.size()));
}

std::vector<uint8_t> build_reply(const ReplyAddressing& addressing, const ReplyFields& fields,
                                 const OptionWriter& options) {
    const size_t bootp_length =
        std::max(kBootpFixedSize + 4 + options.bytes().size() + 1, kBootpMinimumSize);
    const size_t udp_length = kUdpHeaderSize + bootp_length;
    const size_t ip_length = kIpv4HeaderSize + udp_length;
    std::vector<uint8_t> frame;
    frame.reserve(net::kEthernetHeaderSize + ip_length);
    Writer w(frame);

    w.mac(addressing.frame_destination);
    w.mac(addressing.frame_source);
    w.be16(kEtherTypeIpv4);

    const size_t ip_at = frame.size();
    w.u8(0x45);  // IPv4, 20-byte header
    w.u8(0);
    w.be16(static_cast<uint16_t>(ip_length));
    w.be16(0);  // identification: never fragmented
    w.be16(0);
    w.u8(64);  // TTL
    w.u8(kProtocolUdp);
    w.be16(0);  // checksum, filled below
    w.address(addressing.ip_source);
    w.address(addressing.ip_destination);
    put_be16(frame, ip_at + 10,
             net::internet_checksum(std::span(frame).subspan(ip_at, kIpv4HeaderSize)));

    const size_t udp_at = frame.size();
    w.be16(kServerPort);
    w.be16(kClientPort);
    w.be16(static_cast<uint16_t>(udp_length));
    w.be16(0);  // checksum, filled below

    const size_t bootp_at = frame.size();
    w.u8(kBootReply);
    w.u8(kHardwareEthernet);
    w.u8(6);
    w.u8(0);  // hops
    w.be32(fields.xid);
    w.be16(0);  // secs
    w.be16(fields.flags);
    w.address(fields.ciaddr);
    w.address(fields.yiaddr);
    w.address(fields.siaddr);
    w.address(Ipv4Address{});  // giaddr: relayed requests are not served
    w.mac(fields.chaddr);
    w.zeros(16 - 6 + 64 + 128);  // rest of chaddr, sname, file
    w.be32(kMagicCookie);
    w.bytes(options.bytes());
    w.u8(option::kEnd);
    w.zeros(bootp_length - (frame.size() - bootp_at));

    // UDP checksum over the pseudo-header (source, destination, protocol, UDP length) and the
    // datagram; a computed 0 is sent as 0xFFFF, since 0 means "no checksum" (RFC 768).
    std::array<uint8_t, 12> pseudo{};
    addressing.ip_source.to_bytes(std::span<uint8_t, 4>(pseudo.data(), 4));
    addressing.ip_destination.to_bytes(std::span<uint8_t, 4>(pseudo.data() + 4, 4));
    pseudo[9] = kProtocolUdp;
    pseudo[10] = static_cast<uint8_t>(udp_length >> 8);
    pseudo[11] = static_cast<uint8_t>(udp_length);
    uint16_t checksum = net::checksum_finish(net::checksum_accumulate(
        net::checksum_accumulate(0, pseudo), std::span(frame).subspan(udp_at, udp_length)));
    if (checksum == 0) {
        checksum = 0xFFFF;
    }
    put_be16(frame, udp_at + 6, checksum);
    return frame;
}

std::vector<uint8_t> build_arp_reply(const ArpRequest& request, const MacAddress& mac,
                                     Ipv4Address ip) {
    std::vector<uint8_t> frame;
    frame.reserve(kMinimumFrameSize);
    Writer w(frame);
    w.mac(request.sender_mac);
    w.mac(mac);
    w.be16(kEtherTypeArp);
    w.be16(kHardwareEthernet);
    w.be16(kEtherTypeIpv4);
    w.u8(6);
    w.u8(4);
    w.be16(2);  // reply
    w.mac(mac);
    w.address(ip);
    w.mac(request.sender_mac);
    w.address(request.sender_ip);
    static_assert(net::kEthernetHeaderSize + kArpPayloadSize <= kMinimumFrameSize);
    w.zeros(kMinimumFrameSize - frame.size());  // Ethernet's minimum, as a wire would carry it
    return frame;
}

}  // namespace hvmm::vmnet::dhcp
