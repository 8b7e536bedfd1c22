#include "vmnet/dhcp_server.h"

#include <algorithm>
#include <numeric>

namespace hvmm::vmnet {

using dhcp::MessageType;
using net::Ipv4Address;

uint64_t DhcpCounters::total_dropped() const {
    return std::accumulate(dropped.begin(), dropped.end(), uint64_t{0});
}

namespace {

constexpr size_t kMaxDnsServers = 8;
constexpr size_t kMaxDomainName = 64;
constexpr std::chrono::seconds kMinLeaseTime{60};
constexpr std::chrono::seconds kMaxLeaseTime{0xFFFFFFFEu};  // 0xFFFFFFFF would mean "forever"

bool domain_name_ok(std::string_view name) {
    return name.size() <= kMaxDomainName && std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.';
           });
}

}  // namespace

Result<DhcpServer> DhcpServer::create(DhcpServerConfig config) {
    const uint32_t network = config.network.value;
    const uint8_t first_octet = static_cast<uint8_t>(network >> 24);
    if ((network & 0xFF) != 0) {
        return fail("DHCP: network {} is not the start of a /24 (its last number must be 0)",
                    net::to_string(config.network));
    }
    if (first_octet == 0 || first_octet == 127 || first_octet >= 224) {
        return fail("DHCP: network {} is not a usable unicast network",
                    net::to_string(config.network));
    }
    if (config.lease_time < kMinLeaseTime || config.lease_time > kMaxLeaseTime) {
        return fail("DHCP: lease time {} s is out of range ({} s to {} s)",
                    config.lease_time.count(), kMinLeaseTime.count(), kMaxLeaseTime.count());
    }
    if (config.offer_hold.count() < 1 || config.decline_hold.count() < 0) {
        return fail("DHCP: the offer hold must be at least 1 s and the decline hold not negative");
    }
    if (config.dns.size() > kMaxDnsServers ||
        std::any_of(config.dns.begin(), config.dns.end(),
                    [](Ipv4Address a) { return a.is_zero(); })) {
        return fail("DHCP: at most {} DNS servers, none of them 0.0.0.0", kMaxDnsServers);
    }
    if (!domain_name_ok(config.domain_name)) {
        return fail("DHCP: bad domain name '{}' (letters, digits, '-' and '.', at most {})",
                    config.domain_name, kMaxDomainName);
    }
    const net::Ipv4Subnet subnet{config.network, 24};
    for (size_t i = 0; i < config.reservations.size(); ++i) {
        const auto& r = config.reservations[i];
        const uint32_t host = subnet.host_part(r.address);
        if (!net::is_unicast_station(r.mac)) {
            return fail("DHCP: reservation for {}: not a station MAC address",
                        net::to_string(r.mac));
        }
        if (!subnet.contains(r.address) || host <= kGateway || host >= kServer) {
            return fail("DHCP: reserved address {} is not a host address .3-.253 of {}",
                        net::to_string(r.address), net::to_string(subnet));
        }
        for (size_t j = 0; j < i; ++j) {
            if (config.reservations[j].mac == r.mac ||
                config.reservations[j].address == r.address) {
                return fail("DHCP: two reservations share {} or {}", net::to_string(r.mac),
                            net::to_string(r.address));
            }
        }
    }
    return DhcpServer(std::move(config));
}

DhcpServer::DhcpServer(DhcpServerConfig config)
    : config_(std::move(config)), subnet_{config_.network, 24} {
    if (config_.dns.empty()) {
        config_.dns.push_back(gateway_address());
    }
}

std::optional<std::vector<uint8_t>> DhcpServer::handle(std::span<const uint8_t> frame,
                                                       WallTime now) {
    ++counters_.frames;
    const auto request =
        dhcp::parse_request(frame, config_.server_mac, server_address(), subnet_.broadcast());
    if (request) {
        return handle_request(*request, now);
    }
    if (request.error() != dhcp::Drop::kNotForServer) {
        ++counters_.dropped[static_cast<size_t>(request.error())];
        return std::nullopt;
    }
    // A renewing client unicasts to the server identifier, so it must be able to find it.
    const auto arp = dhcp::parse_arp_request(frame);
    if (arp && arp->target_ip == server_address() && net::is_unicast_station(arp->sender_mac)) {
        ++counters_.arp_replies;
        return dhcp::build_arp_reply(*arp, config_.server_mac, server_address());
    }
    ++counters_.not_for_server;
    return std::nullopt;
}

std::optional<std::vector<uint8_t>> DhcpServer::handle_request(const dhcp::Request& request,
                                                               WallTime now) {
    switch (request.type) {
        case MessageType::kDiscover:
            return discover(request, now);
        case MessageType::kRequest:
            return this->request(request, now);
        case MessageType::kRelease:
            release(request, now);
            return std::nullopt;
        case MessageType::kDecline:
            decline(request, now);
            return std::nullopt;
        case MessageType::kInform:
            return inform(request);
        default:
            return std::nullopt;  // parse_request passes client messages only
    }
}

std::optional<uint8_t> DhcpServer::reservation_for(const MacAddress& mac) const {
    for (const auto& r : config_.reservations) {
        if (r.mac == mac)
            return static_cast<uint8_t>(subnet_.host_part(r.address));
    }
    return std::nullopt;
}

bool DhcpServer::reserved_for_other(uint8_t host, const MacAddress& mac) const {
    return std::any_of(config_.reservations.begin(), config_.reservations.end(),
                       [&](const DhcpReservation& r) {
                           return subnet_.host_part(r.address) == host && r.mac != mac;
                       });
}

std::optional<uint8_t> DhcpServer::held_by(const MacAddress& mac, WallTime now) const {
    for (size_t host = 0; host < slots_.size(); ++host) {
        const Slot& slot = slots_[host];
        if ((slot.state == SlotState::kOffered || slot.state == SlotState::kBound) &&
            slot.mac == mac && live(slot, now)) {
            return static_cast<uint8_t>(host);
        }
    }
    return std::nullopt;
}

bool DhcpServer::assignable(Ipv4Address address, const MacAddress& mac, WallTime now) const {
    if (!subnet_.contains(address)) {
        return false;
    }
    const auto host = static_cast<uint8_t>(subnet_.host_part(address));
    if (const auto reserved = reservation_for(mac)) {
        return host == *reserved;  // a client with a reservation gets that address only
    }
    if (host < kPoolFirst || host > kPoolLast || reserved_for_other(host, mac)) {
        return false;
    }
    const Slot& slot = slots_[host];
    switch (slot.state) {
        case SlotState::kFree:
        case SlotState::kReleased:
            return true;
        case SlotState::kOffered:
        case SlotState::kBound:
            return slot.mac == mac || !live(slot, now);
        case SlotState::kDeclined:
            return !live(slot, now);
    }
    return false;
}

std::optional<uint8_t> DhcpServer::choose_for_discover(const dhcp::Request& request, WallTime now) {
    const MacAddress& mac = request.chaddr;
    if (const auto reserved = reservation_for(mac)) {
        return reserved;
    }
    if (const auto held = held_by(mac, now)) {
        return held;
    }
    if (request.requested_address && assignable(*request.requested_address, mac, now)) {
        return static_cast<uint8_t>(subnet_.host_part(*request.requested_address));
    }
    std::optional<uint8_t> previous, longest_unused, oldest_offer;
    WallTime longest_unused_since = WallTime::max(), oldest_offer_until = WallTime::max();
    for (unsigned host = kPoolFirst; host <= kPoolLast; ++host) {
        const Slot& slot = slots_[host];
        const auto h = static_cast<uint8_t>(host);
        if (assignable(subnet_.host(host), mac, now)) {
            if (slot.mac == mac && slot.state != SlotState::kFree) {
                previous = h;
            }
            // Never-used addresses first (kFree, ranked as the earliest time), then the one
            // free for longest, so a returning client's old address is taken last.
            const WallTime since = slot.state == SlotState::kFree ? WallTime::min() : slot.expires;
            if (since < longest_unused_since) {
                longest_unused = h;
                longest_unused_since = since;
            }
        } else if (slot.state == SlotState::kOffered && !reserved_for_other(h, mac) &&
                   slot.expires < oldest_offer_until) {
            oldest_offer = h;
            oldest_offer_until = slot.expires;
        }
    }
    if (previous)
        return previous;
    if (longest_unused)
        return longest_unused;
    if (oldest_offer) {
        ++counters_.offers_taken_over;
        return oldest_offer;
    }
    return std::nullopt;
}

void DhcpServer::assign(uint8_t host, const MacAddress& mac, SlotState state, WallTime expires,
                        WallTime now) {
    // One address per client: whatever else it held or was offered is let go.
    for (size_t other = 0; other < slots_.size(); ++other) {
        Slot& slot = slots_[other];
        if (other != host && slot.mac == mac &&
            (slot.state == SlotState::kOffered || slot.state == SlotState::kBound)) {
            slot.state = SlotState::kReleased;
            slot.expires = std::min(slot.expires, now);
        }
    }
    slots_[host] = Slot{state, mac, expires};
}

std::optional<std::vector<uint8_t>> DhcpServer::discover(const dhcp::Request& request,
                                                         WallTime now) {
    ++counters_.discovers;
    const auto host = choose_for_discover(request, now);
    if (!host) {
        ++counters_.pool_exhausted;
        return std::nullopt;
    }
    Slot& slot = slots_[*host];
    const bool bound_already =
        slot.state == SlotState::kBound && slot.mac == request.chaddr && live(slot, now);
    if (!bound_already) {
        // An offer never shortens a lease the client holds; it only holds a free address.
        assign(*host, request.chaddr, SlotState::kOffered, now + config_.offer_hold, now);
    }
    ++counters_.offers;
    return reply(request, MessageType::kOffer, subnet_.host(*host), true);
}

std::optional<std::vector<uint8_t>> DhcpServer::request(const dhcp::Request& request,
                                                        WallTime now) {
    ++counters_.requests;
    const MacAddress& mac = request.chaddr;
    Ipv4Address address;
    if (request.server_identifier) {
        // SELECTING: the client answers one server's offer, by broadcast so every server hears.
        if (*request.server_identifier != server_address()) {
            ++counters_.other_server;
            if (const auto held = held_by(mac, now);
                held && slots_[*held].state == SlotState::kOffered) {
                slots_[*held].state = SlotState::kReleased;
                slots_[*held].expires = now;
            }
            return std::nullopt;
        }
        if (!request.requested_address) {
            return nak(request);
        }
        address = *request.requested_address;
        const Slot& slot = slots_[subnet_.host_part(address) & 0xFF];
        const bool offered_to_it =
            subnet_.contains(address) && slot.mac == mac &&
            (slot.state == SlotState::kOffered || slot.state == SlotState::kBound);
        if (!offered_to_it || !assignable(address, mac, now)) {
            return nak(request);
        }
    } else if (!request.ciaddr.is_zero()) {
        address = request.ciaddr;  // RENEWING (unicast) or REBINDING (broadcast)
    } else if (request.requested_address) {
        address = *request.requested_address;  // INIT-REBOOT
    } else {
        ++counters_.dropped[static_cast<size_t>(dhcp::Drop::kBadOption)];
        return std::nullopt;
    }
    if (!assignable(address, mac, now)) {
        return nak(request);
    }
    assign(static_cast<uint8_t>(subnet_.host_part(address)), mac, SlotState::kBound,
           now + config_.lease_time, now);
    ++counters_.acks;
    return reply(request, MessageType::kAck, address, true);
}

void DhcpServer::release(const dhcp::Request& request, WallTime now) {
    ++counters_.releases;
    const Ipv4Address address = request.ciaddr;
    if ((request.server_identifier && *request.server_identifier != server_address()) ||
        !subnet_.contains(address)) {
        ++counters_.ignored;
        return;
    }
    Slot& slot = slots_[subnet_.host_part(address)];
    if (slot.state != SlotState::kBound || slot.mac != request.chaddr) {
        ++counters_.ignored;  // not its address to release
        return;
    }
    slot.state = SlotState::kReleased;
    slot.expires = now;
}

void DhcpServer::decline(const dhcp::Request& request, WallTime now) {
    ++counters_.declines;
    if ((request.server_identifier && *request.server_identifier != server_address()) ||
        !request.requested_address || !subnet_.contains(*request.requested_address)) {
        ++counters_.ignored;
        return;
    }
    Slot& slot = slots_[subnet_.host_part(*request.requested_address)];
    if ((slot.state != SlotState::kOffered && slot.state != SlotState::kBound) ||
        slot.mac != request.chaddr) {
        ++counters_.ignored;  // only the client given the address can say it is in use
        return;
    }
    slot = Slot{SlotState::kDeclined, MacAddress{}, now + config_.decline_hold};
}

std::optional<std::vector<uint8_t>> DhcpServer::inform(const dhcp::Request& request) {
    ++counters_.informs;
    ++counters_.acks;
    return reply(request, MessageType::kAck, Ipv4Address{}, false);
}

dhcp::OptionWriter DhcpServer::network_options(MessageType type, bool with_lease) const {
    namespace opt = dhcp::option;
    dhcp::OptionWriter options;
    // Every add fits: the largest set (8 DNS servers, a 64-byte domain) is under 150 bytes.
    options.add_u8(opt::kMessageType, static_cast<uint8_t>(type));
    options.add_address(opt::kServerIdentifier, server_address());
    if (type == MessageType::kNak) {
        return options;
    }
    if (with_lease) {
        const auto lease = static_cast<uint32_t>(config_.lease_time.count());
        options.add_u32(opt::kLeaseTime, lease);
        options.add_u32(opt::kRenewalTime, lease / 2);        // T1: 0.5 (RFC 2131 4.4.5)
        options.add_u32(opt::kRebindingTime, lease / 8 * 7);  // T2: 0.875
    }
    options.add_address(opt::kSubnetMask, Ipv4Address{subnet_.mask()});
    options.add_address(opt::kRouter, gateway_address());
    options.add_addresses(opt::kDnsServers, config_.dns);
    options.add_address(opt::kBroadcastAddress, subnet_.broadcast());
    if (!config_.domain_name.empty()) {
        options.add(opt::kDomainName,
                    std::span(reinterpret_cast<const uint8_t*>(config_.domain_name.data()),
                              config_.domain_name.size()));
    }
    return options;
}

std::vector<uint8_t> DhcpServer::reply(const dhcp::Request& request, MessageType type,
                                       Ipv4Address yiaddr, bool with_lease) {
    dhcp::ReplyAddressing to{.frame_destination = request.chaddr,
                             .frame_source = config_.server_mac,
                             .ip_source = server_address(),
                             .ip_destination = yiaddr};
    // RFC 2131 section 4.1 (giaddr is always 0 here: relayed requests are dropped).
    if (!request.ciaddr.is_zero()) {
        to.ip_destination = request.ciaddr;
    } else if ((request.flags & dhcp::kBroadcastFlag) != 0 || yiaddr.is_zero()) {
        to.frame_destination = net::kBroadcastMac;
        to.ip_destination = net::kIpv4Broadcast;
    }
    // Table 3: an OFFER's ciaddr is 0; an ACK echoes the request's.
    const dhcp::ReplyFields fields{
        .xid = request.xid,
        .flags = request.flags,
        .ciaddr = type == MessageType::kOffer ? Ipv4Address{} : request.ciaddr,
        .yiaddr = yiaddr,
        .siaddr = Ipv4Address{},
        .chaddr = request.chaddr};
    return dhcp::build_reply(to, fields, network_options(type, with_lease));
}

std::vector<uint8_t> DhcpServer::nak(const dhcp::Request& request) {
    ++counters_.naks;
    // Always broadcast when giaddr is 0: the client may hold an address that is no longer its.
    const dhcp::ReplyAddressing to{.frame_destination = net::kBroadcastMac,
                                   .frame_source = config_.server_mac,
                                   .ip_source = server_address(),
                                   .ip_destination = net::kIpv4Broadcast};
    const dhcp::ReplyFields fields{
        .xid = request.xid, .flags = request.flags, .chaddr = request.chaddr};
    return dhcp::build_reply(to, fields, network_options(MessageType::kNak, false));
}

std::vector<DhcpLease> DhcpServer::leases(WallTime now) const {
    std::vector<DhcpLease> out;
    for (unsigned host = 0; host < slots_.size(); ++host) {
        const Slot& slot = slots_[host];
        if ((slot.state == SlotState::kOffered || slot.state == SlotState::kBound) &&
            live(slot, now)) {
            out.push_back(DhcpLease{slot.mac, subnet_.host(host), slot.expires,
                                    slot.state == SlotState::kBound});
        }
    }
    return out;
}

}  // namespace hvmm::vmnet
