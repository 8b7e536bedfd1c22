// The options of a NAT (`net=user`) network, in QEMU's `-netdev user` vocabulary, parsed and
// checked before anything is opened or bound: hostfwd=, net=, dns=, restrict=, ipv6=.
//
// Pure: text in, a config or a one-line error out; any thread. The backend that hands the config
// to libslirp resolves what is left open here (the default guest address of a forward).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/ipv4.h"

namespace hvmm::net {

// hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, as QEMU writes it: the protocol
// defaults to tcp, an empty HOSTADDR means every host address, an IPv6 HOSTADDR is bracketed
// ("[::1]"), and an empty GUESTADDR means the guest's usual address (QEMU: the network's .15).
struct HostForward {
    enum class Protocol : uint8_t { kTcp, kUdp };
    Protocol protocol = Protocol::kTcp;
    std::optional<Ipv4Address> host_ipv4;              // neither set: any address
    std::optional<std::array<uint8_t, 16>> host_ipv6;  // network order
    uint16_t host_port = 0;
    std::optional<Ipv4Address> guest_address;
    uint16_t guest_port = 0;
    bool operator==(const HostForward&) const = default;
};

Result<HostForward> parse_host_forward(std::string_view text);
// Back to QEMU's form, for messages and `status`.
std::string to_string(const HostForward& forward);

struct UserNetConfig {
    // QEMU's defaults: 10.0.2.0/24, the host (gateway) at .2, DNS at .3, DHCP from .15.
    Ipv4Subnet network{Ipv4Address::of(10, 0, 2, 0), 24};
    std::optional<Ipv4Address> dns;  // unset: the network's .3
    bool restrict = false;           // on: the guest reaches only the host's forwards, no outside
    bool ipv6 = true;
    std::vector<HostForward> forwards;
    // The next two are no options of net=user, which keeps QEMU's layout. A switch's NAT port
    // (vmnet/nat_port.h) changes both for VMware's, where the switch's DHCP server gives the
    // addresses and names the gateway as the DNS.
    // libslirp's own DHCP server. Off, a forward has no default guest and must name one.
    bool dhcp = true;
    // DNS answered at the gateway's address instead of at `dns` (which must then be unset).
    bool dns_at_gateway = false;

    Ipv4Address gateway() const { return network.host(2); }
    Ipv4Address dns_address() const {
        return dns_at_gateway ? gateway() : dns.value_or(network.host(3));
    }
    Ipv4Address first_dhcp_address() const { return network.host(15); }
    bool operator==(const UserNetConfig&) const = default;
};

// Applies one key=value of a NIC's options (the caller splits them); an unknown key is an
// error naming the known ones. Repeated hostfwd= accumulate.
Result<void> apply_user_net_option(UserNetConfig& config, std::string_view key,
                                   std::string_view value);
// Checks the options together once all are applied: dns= and forward guest addresses inside
// net=, no two forwards on one host port, and without libslirp's DHCP a guest address in every
// forward.
Result<void> check_user_net_config(const UserNetConfig& config);

}  // namespace hvmm::net
