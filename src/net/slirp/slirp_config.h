// A user network's options (net/user_net_config.h, QEMU's vocabulary) in libslirp's terms: the
// SlirpConfig for slirp_new, each forward's socket addresses for slirp_add_hostxfwd, and the
// one-line description. Pure; any thread.
#pragma once

#include <libslirp.h>
#include <sys/socket.h>

#include <string>

#include "net/user_net_config.h"

namespace hvmm::net {

// QEMU's IPv6 side of `-netdev user`: the site-local prefix fec0::/64, the host (gateway) at
// fec0::2 and DNS at fec0::3, so a guest sees what it would see under QEMU.
inline constexpr const char* kUserNetIpv6Prefix = "fec0::";
inline constexpr uint8_t kUserNetIpv6PrefixLength = 64;
inline constexpr const char* kUserNetIpv6Host = "fec0::2";
inline constexpr const char* kUserNetIpv6Dns = "fec0::3";

// Version 4 (libslirp 4.7's newest): IPv4 always, IPv6 when config.ipv6; host at .2, DHCP from
// .15 (unless config.dhcp is off), DNS at config's address (libslirp relays it to the host's
// resolver). The host's loopback stays reachable at the gateway address, as in QEMU, unless
// the DNS is there too (dns_at_gateway): libslirp 4.7 then sends everything for that address to
// the host's resolver. No strings point into anything.
SlirpConfig make_slirp_config(const UserNetConfig& config);

struct ForwardAddresses {
    sockaddr_storage host{};
    socklen_t host_length = 0;
    sockaddr_storage guest{};
    socklen_t guest_length = 0;
    int flags = 0;  // SLIRP_HOSTFWD_UDP
};

// The host side: the forward's IPv4 or IPv6 address, or (neither given) every IPv4 address, as
// QEMU binds it. The guest side: its address, or (none given) the network's first DHCP address.
// libslirp forwards within one address family: an IPv6 host address reaches the guest's IPv6
// address, which libslirp learns from the guest's neighbour discovery (so the forward needs
// ipv6=on and no IPv4 guest address; either mistake is a one-line error naming the forward).
Result<ForwardAddresses> forward_addresses(const UserNetConfig& config, const HostForward& forward);

// "user 10.0.2.0/24 (NAT, hostfwd tcp::8080-:80)", with restrict=on and ipv6=off when set.
std::string describe_user_net(const UserNetConfig& config);

}  // namespace hvmm::net
