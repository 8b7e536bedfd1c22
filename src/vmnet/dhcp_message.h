// DHCP on the wire (RFC 2131, options RFC 2132) inside Ethernet, IPv4 and UDP: reading a
// client's request out of a frame, every field bounds-checked, and building the server's reply
// frame with correct IPv4 and UDP checksums. Also the one ARP exchange a DHCP server needs (a
// renewing client ARPs for the server identifier before unicasting to it).
//
// Pure functions over bytes; any thread. The policy (who gets which address) is dhcp_server.h's.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/expected.h"
#include "net/ipv4.h"
#include "net/mac_address.h"

namespace hvmm::vmnet::dhcp {

using net::Ipv4Address;

inline constexpr uint16_t kServerPort = 67;
inline constexpr uint16_t kClientPort = 68;
// Largest frame taken as DHCP: a full 1500-byte IPv4 packet in Ethernet without FCS. Real
// requests are a few hundred bytes; anything bigger is someone probing the parser.
inline constexpr size_t kMaxFrameSize = 1514;
inline constexpr uint16_t kBroadcastFlag = 0x8000;

enum class MessageType : uint8_t {
    kDiscover = 1,
    kOffer = 2,
    kRequest = 3,
    kDecline = 4,
    kAck = 5,
    kNak = 6,
    kRelease = 7,
    kInform = 8,
};

namespace option {
inline constexpr uint8_t kPad = 0;
inline constexpr uint8_t kSubnetMask = 1;
inline constexpr uint8_t kRouter = 3;
inline constexpr uint8_t kDnsServers = 6;
inline constexpr uint8_t kDomainName = 15;
inline constexpr uint8_t kBroadcastAddress = 28;
inline constexpr uint8_t kRequestedAddress = 50;
inline constexpr uint8_t kLeaseTime = 51;
inline constexpr uint8_t kMessageType = 53;
inline constexpr uint8_t kServerIdentifier = 54;
inline constexpr uint8_t kMessage = 56;
inline constexpr uint8_t kRenewalTime = 58;
inline constexpr uint8_t kRebindingTime = 59;
inline constexpr uint8_t kEnd = 255;
}  // namespace option

// Why a frame was not taken as a request. kNotForServer is not an error: a switch port sees
// every broadcast, and almost all of them are not DHCP. The rest are counted as drops.
enum class Drop : uint8_t {
    kNotForServer,    // not IPv4/UDP to port 67 at our MAC or broadcast, or not ARP for us
    kOversize,        // a DHCP frame above kMaxFrameSize
    kTruncated,       // a header or fixed field runs past the end of the frame or packet
    kBadIpHeader,     // version, header length or total length wrong
    kBadIpChecksum,   //
    kFragment,        // DHCP is never fragmented in practice; reassembly is not worth a parser
    kBadUdpLength,    //
    kNotBootRequest,  // not a BOOTREQUEST, not Ethernet, or chaddr not a station address
    kRelayed,         // giaddr set: no relay agent exists on a virtual switch
    kNoMagicCookie,   //
    kOptionOverrun,   // an option's length runs past the end of the packet
    kNoEndOption,     //
    kBadOption,       // a known option with the wrong length, or no/unknown message type
};
inline constexpr size_t kDropReasons = static_cast<size_t>(Drop::kBadOption) + 1;
std::string_view to_string(Drop drop);

// What the server needs from a client's message.
struct Request {
    MacAddress frame_source{};  // Ethernet source
    Ipv4Address ip_source;
    MessageType type = MessageType::kDiscover;
    uint32_t xid = 0;
    uint16_t flags = 0;
    Ipv4Address ciaddr;
    MacAddress chaddr{};  // the client's hardware address: its identity here
    std::optional<Ipv4Address> requested_address;  // option 50
    std::optional<Ipv4Address> server_identifier;  // option 54
};

// An ARP request for some address (the server answers those for its own).
struct ArpRequest {
    MacAddress sender_mac{};
    Ipv4Address sender_ip;
    Ipv4Address target_ip;
};

// Reads one frame. `server_mac` is the Ethernet address the server answers to besides broadcast;
// `server_ip` the IPv4 destination it accepts besides 255.255.255.255 and `subnet_broadcast`.
std::expected<Request, Drop> parse_request(std::span<const uint8_t> frame,
                                           const MacAddress& server_mac, Ipv4Address server_ip,
                                           Ipv4Address subnet_broadcast);
// Reads one frame as an ARP request; anything else is kNotForServer, a short ARP kTruncated.
std::expected<ArpRequest, Drop> parse_arp_request(std::span<const uint8_t> frame);

// A reply's options, in order, without the end option. Bounded: each add refuses what would not
// fit a DHCP message's 312-byte options field (RFC 2131's minimum every client accepts).
class OptionWriter {
  public:
    static constexpr size_t kCapacity = 312 - 1;  // keeps a byte for the end option
    bool add(uint8_t code, std::span<const uint8_t> value);
    bool add_u8(uint8_t code, uint8_t value);
    bool add_u32(uint8_t code, uint32_t value);
    bool add_address(uint8_t code, Ipv4Address address);
    bool add_addresses(uint8_t code, std::span<const Ipv4Address> addresses);
    std::span<const uint8_t> bytes() const { return {bytes_.data(), size_}; }

  private:
    std::array<uint8_t, kCapacity> bytes_{};
    size_t size_ = 0;
};

struct ReplyAddressing {
    MacAddress frame_destination{};
    MacAddress frame_source{};
    Ipv4Address ip_source;
    Ipv4Address ip_destination;
};

struct ReplyFields {
    uint32_t xid = 0;
    uint16_t flags = 0;
    Ipv4Address ciaddr;
    Ipv4Address yiaddr;
    Ipv4Address siaddr;
    MacAddress chaddr{};
};

// A whole reply frame: Ethernet, IPv4 (with its checksum), UDP 67 -> 68 (with its checksum),
// BOOTREPLY, magic cookie, the options and the end option, padded so the BOOTP message is at
// least 300 bytes (RFC 1542: some clients drop shorter ones).
std::vector<uint8_t> build_reply(const ReplyAddressing& addressing, const ReplyFields& fields,
                                 const OptionWriter& options);

// An ARP reply saying `ip` is at `mac`, to the requester.
std::vector<uint8_t> build_arp_reply(const ArpRequest& request, const MacAddress& mac,
                                     Ipv4Address ip);

}  // namespace hvmm::vmnet::dhcp
