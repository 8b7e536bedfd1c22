#include "net/slirp/slirp_config.h"

#include <arpa/inet.h>

#include <cstring>

#include <fmt/format.h>

namespace hvmm::net {
namespace {

in_addr to_in_addr(Ipv4Address address) {
    return in_addr{.s_addr = htonl(address.value)};
}

in6_addr ipv6(const char* text) {
    in6_addr address{};
    ::inet_pton(AF_INET6, text, &address);
    return address;
}

}  // namespace

SlirpConfig make_slirp_config(const UserNetConfig& config) {
    SlirpConfig slirp{};
    slirp.version = 4;
    slirp.restricted = config.restrict ? 1 : 0;
    slirp.in_enabled = true;
    slirp.vnetwork = to_in_addr(config.network.network);
    slirp.vnetmask = to_in_addr(Ipv4Address{config.network.mask()});
    slirp.vhost = to_in_addr(config.gateway());
    slirp.vdhcp_start = to_in_addr(config.first_dhcp_address());
    slirp.vnameserver = to_in_addr(config.dns_address());
    slirp.in6_enabled = config.ipv6;
    slirp.vprefix_addr6 = ipv6(kUserNetIpv6Prefix);
    slirp.vprefix_len = kUserNetIpv6PrefixLength;
    slirp.vhost6 = ipv6(kUserNetIpv6Host);
    slirp.vnameserver6 = ipv6(kUserNetIpv6Dns);
    slirp.disable_host_loopback = false;
    slirp.disable_dhcp = !config.dhcp;
    // if_mtu/if_mru 0: libslirp's 1500. No TFTP, no boot file, no emulation hacks, DNS on.
    return slirp;
}

Result<ForwardAddresses> forward_addresses(const UserNetConfig& config,
                                           const HostForward& forward) {
    ForwardAddresses addresses;
    addresses.flags = forward.protocol == HostForward::Protocol::kUdp ? SLIRP_HOSTFWD_UDP : 0;
    if (forward.host_ipv6) {
        if (!config.ipv6) {
            return fail("user network: hostfwd={}: an IPv6 host address needs ipv6=on",
                        to_string(forward));
        }
        if (forward.guest_address) {
            return fail(
                "user network: hostfwd={}: an IPv6 host address forwards to the guest's "
                "IPv6 address; leave the guest address out",
                to_string(forward));
        }
        sockaddr_in6 host{};
        host.sin6_family = AF_INET6;
        host.sin6_port = htons(forward.host_port);
        std::memcpy(&host.sin6_addr, forward.host_ipv6->data(), sizeof host.sin6_addr);
        std::memcpy(&addresses.host, &host, sizeof host);
        addresses.host_length = sizeof host;
        // "::": libslirp fills in the guest's address from its neighbour table when a
        // connection comes.
        sockaddr_in6 guest{};
        guest.sin6_family = AF_INET6;
        guest.sin6_port = htons(forward.guest_port);
        std::memcpy(&addresses.guest, &guest, sizeof guest);
        addresses.guest_length = sizeof guest;
        return addresses;
    }
    sockaddr_in host{};
    host.sin_family = AF_INET;
    host.sin_port = htons(forward.host_port);
    host.sin_addr = to_in_addr(forward.host_ipv4.value_or(Ipv4Address{}));
    std::memcpy(&addresses.host, &host, sizeof host);
    addresses.host_length = sizeof host;
    sockaddr_in guest{};
    guest.sin_family = AF_INET;
    guest.sin_port = htons(forward.guest_port);
    guest.sin_addr = to_in_addr(forward.guest_address.value_or(config.first_dhcp_address()));
    std::memcpy(&addresses.guest, &guest, sizeof guest);
    addresses.guest_length = sizeof guest;
    return addresses;
}

std::string describe_user_net(const UserNetConfig& config) {
    std::string text = fmt::format("user {} (NAT", to_string(config.network));
    if (config.restrict) {
        text += ", restrict=on";
    }
    if (!config.ipv6) {
        text += ", ipv6=off";
    }
    if (config.dns_at_gateway) {
        text += ", DNS at the gateway";
    }
    if (!config.dhcp) {
        text += ", no DHCP";
    }
    for (const HostForward& forward : config.forwards) {
        text += ", hostfwd " + to_string(forward);
    }
    return text + ")";
}

}  // namespace hvmm::net
