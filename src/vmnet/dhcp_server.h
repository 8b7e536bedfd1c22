// The switch's DHCP server: a frame in, at most one frame out. VMware's layout for a /24:
//   .1        the host's side of the network (VMware's host virtual adapter)
//   .2        the gateway (the NAT port), given as the router, and as DNS unless told otherwise
//   .128-.253 the pool handed out dynamically
//   .254      this server (its server identifier, and it answers ARP for it)
// Reserved addresses (by MAC) may be any other host address (.3-.253), inside the pool or not.
//
// Single-threaded: the switch's forwarding thread owns the server and calls every method.
// Time is passed in as wall-clock time points (leases outlive a restart, so their expiry is an
// absolute date); nothing here reads a clock, opens a socket, or logs. Memory is bounded by the
// subnet: one slot per host address, whatever the clients send.
//
// Policy (RFC 2131, section 4.3), with the one liberty an only server on its wire may take: it
// is authoritative, answering an INIT-REBOOT or rebinding client it has no record of with an ACK
// when the address is free for it (and a NAK when not), where RFC 2131 lets a server that may
// share the wire with others stay silent. A client is identified by chaddr (VMware's choice;
// client-identifier option 61 is not used).
// - DISCOVER: the client's reservation; else the address it holds or was offered; else the one
//   it asks for if free; else the address it last had if still free; else the free pool address
//   unused longest. The offer holds the address for `offer_hold`. With no address free, the
//   oldest pending offer is taken over (offers are tentative; bound leases never are); with none
//   of those either, no offer (counted as pool_exhausted).
// - REQUEST, selecting (server identifier present): for us, ACK if it asks for what we offered,
//   else NAK; for another server, our offer to it is withdrawn, no reply.
// - REQUEST, init-reboot (requested address, no ciaddr) and renewing/rebinding (ciaddr): ACK if
//   the address is the client's to have, else NAK.
// - RELEASE frees the address (the server remembers who had it, to give it back if still free).
// - DECLINE takes the address out of use for `decline_hold` (another host answered ARP for it).
// - INFORM: an ACK with the network's options and no lease.
// Replies: NAK broadcast; otherwise unicast to ciaddr when set, broadcast when the client set the
// broadcast flag, else unicast to yiaddr at chaddr (RFC 2131 section 4.1).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/ipv4.h"
#include "net/mac_address.h"
#include "vmnet/dhcp_message.h"

namespace hvmm::vmnet {

using WallTime = std::chrono::system_clock::time_point;

struct DhcpReservation {
    MacAddress mac{};
    net::Ipv4Address address;
};

struct DhcpServerConfig {
    net::Ipv4Address network;  // the /24's network address, e.g. 192.168.77.0
    // The Ethernet address the server's frames come from; a locally administered default.
    MacAddress server_mac{{0x02, 0x68, 0x76, 0x6D, 0x00, 0xFE}};
    std::vector<net::Ipv4Address> dns;  // empty: the gateway (.2)
    std::string domain_name;            // option 15 when not empty (at most 64 characters)
    std::chrono::seconds lease_time{1800};
    std::chrono::seconds offer_hold{60};
    std::chrono::seconds decline_hold{600};
    std::vector<DhcpReservation> reservations;
};

struct DhcpCounters {
    uint64_t frames = 0;          // every frame handed to handle()
    uint64_t not_for_server = 0;  // other traffic a switch port sees: not an error
    std::array<uint64_t, dhcp::kDropReasons> dropped{};  // by dhcp::Drop (kNotForServer unused)
    uint64_t discovers = 0, requests = 0, releases = 0, declines = 0, informs = 0;
    uint64_t offers = 0, acks = 0, naks = 0, arp_replies = 0;
    uint64_t pool_exhausted = 0;     // a DISCOVER that got no offer
    uint64_t offers_taken_over = 0;  // a pending offer given to another client (pool full)
    uint64_t other_server = 0;       // a client chose another server's offer
    uint64_t ignored = 0;            // RELEASE/DECLINE of an address the client does not hold

    uint64_t drops(dhcp::Drop reason) const { return dropped[static_cast<size_t>(reason)]; }
    uint64_t total_dropped() const;
};

struct DhcpLease {
    MacAddress mac{};
    net::Ipv4Address address;
    WallTime expires;
    bool bound = true;  // false: offered, not yet requested
};

struct DhcpLoadReport {
    size_t restored = 0;
    size_t skipped = 0;  // expired, outside the pool, duplicated or malformed entries
};

class DhcpServer {
  public:
    static constexpr uint8_t kHostSide = 1;
    static constexpr uint8_t kGateway = 2;
    static constexpr uint8_t kPoolFirst = 128;
    static constexpr uint8_t kPoolLast = 253;
    static constexpr uint8_t kServer = 254;
    // A leases file bigger than this is refused unread: 254 leases take well under 64 KiB.
    static constexpr size_t kMaxLeasesText = 1 << 20;

    // Refuses a configuration that cannot work, with one line naming the problem.
    static Result<DhcpServer> create(DhcpServerConfig config);

    // One frame from the network. The reply (an OFFER, ACK, NAK, or ARP reply), if any, for the
    // caller to send back to the port the frame came from.
    std::optional<std::vector<uint8_t>> handle(std::span<const uint8_t> frame, WallTime now);

    net::Ipv4Address server_address() const { return subnet_.host(kServer); }
    net::Ipv4Address gateway_address() const { return subnet_.host(kGateway); }
    const net::Ipv4Subnet& subnet() const { return subnet_; }
    const DhcpServerConfig& config() const { return config_; }
    const DhcpCounters& counters() const { return counters_; }
    // Live leases and offers, by address, for `hvmm switch status`.
    std::vector<DhcpLease> leases(WallTime now) const;

    // Bound, unexpired leases as JSON: {"version":1,"network":"A.B.C.0/24","leases":[{"mac":
    // "..","address":"..","expires":UNIX_SECONDS},...]}. Expiry is an absolute date so a
    // restart does not extend or shorten a lease.
    std::string leases_json(WallTime now) const;
    // Takes leases back from leases_json() text. The file as a whole must parse (else an error,
    // and nothing is taken); single entries that are expired, not the client's to have here
    // (the subnet or reservations changed), duplicated or malformed are skipped and counted.
    Result<DhcpLoadReport> load_leases_json(std::string_view text, WallTime now);
    // The same through a file: written to PATH.tmp and renamed over PATH, so a crash mid-write
    // leaves the previous file. A missing file loads as no leases.
    Result<void> save_leases_file(const std::string& path, WallTime now) const;
    Result<DhcpLoadReport> load_leases_file(const std::string& path, WallTime now);

  private:
    enum class SlotState : uint8_t { kFree, kOffered, kBound, kReleased, kDeclined };
    // One per host address (index = last octet). mac is who holds it (kOffered, kBound) or
    // last held it (kReleased, and expired leases): a hint for giving it back.
    struct Slot {
        SlotState state = SlotState::kFree;
        MacAddress mac{};
        // End of the offer, lease or decline hold; for kReleased, when it was released. Once
        // past, it is also when the address fell free, which ranks "unused longest".
        WallTime expires{};
    };

    explicit DhcpServer(DhcpServerConfig config);

    std::optional<std::vector<uint8_t>> handle_request(const dhcp::Request& request, WallTime now);
    std::optional<std::vector<uint8_t>> discover(const dhcp::Request& request, WallTime now);
    std::optional<std::vector<uint8_t>> request(const dhcp::Request& request, WallTime now);
    void release(const dhcp::Request& request, WallTime now);
    void decline(const dhcp::Request& request, WallTime now);
    std::optional<std::vector<uint8_t>> inform(const dhcp::Request& request);

    std::optional<uint8_t> reservation_for(const MacAddress& mac) const;
    bool reserved_for_other(uint8_t host, const MacAddress& mac) const;
    bool live(const Slot& slot, WallTime now) const { return now < slot.expires; }
    // The slot the client holds now (offered or bound, unexpired).
    std::optional<uint8_t> held_by(const MacAddress& mac, WallTime now) const;
    // Whether `address` may be (or stay) the client's: its reservation, or a pool address not
    // reserved for another and not held, declined or offered to anyone else.
    bool assignable(net::Ipv4Address address, const MacAddress& mac, WallTime now) const;
    std::optional<uint8_t> choose_for_discover(const dhcp::Request& request, WallTime now);
    // Gives slot `host` to mac in `state` until `expires`; any other slot mac held is let go.
    void assign(uint8_t host, const MacAddress& mac, SlotState state, WallTime expires,
                WallTime now);

    dhcp::OptionWriter network_options(dhcp::MessageType type, bool with_lease) const;
    std::vector<uint8_t> reply(const dhcp::Request& request, dhcp::MessageType type,
                               net::Ipv4Address yiaddr, bool with_lease);
    std::vector<uint8_t> nak(const dhcp::Request& request);

    DhcpServerConfig config_;
    net::Ipv4Subnet subnet_;
    std::array<Slot, 256> slots_{};
    DhcpCounters counters_;
};

}  // namespace hvmm::vmnet
