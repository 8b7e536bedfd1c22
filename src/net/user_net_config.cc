#include "net/user_net_config.h"

#include <arpa/inet.h>

#include <cstring>

namespace hvmm::net {
namespace {

// The smallest network with room for the gateway (.2), DNS (.3) and libslirp's 16 DHCP
// addresses from .15: 32 addresses.
constexpr uint8_t kLongestPrefix = 27;

std::optional<uint16_t> parse_port(std::string_view text) {
    if (text.empty() || text.size() > 5) {
        return std::nullopt;
    }
    uint32_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value == 0 || value > 65535) {
        return std::nullopt;
    }
    return static_cast<uint16_t>(value);
}

std::optional<bool> parse_switch(std::string_view text) {
    if (text == "on" || text == "yes" || text == "true")
        return true;
    if (text == "off" || text == "no" || text == "false")
        return false;
    return std::nullopt;
}

std::string ipv6_to_string(const std::array<uint8_t, 16>& address) {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET6, address.data(), text, sizeof text);
    return text;
}

}  // namespace

Result<HostForward> parse_host_forward(std::string_view text) {
    constexpr const char* kForm = "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT";
    HostForward forward;
    const size_t colon = text.find(':');
    const size_t dash = text.find('-');
    if (colon == std::string_view::npos || dash == std::string_view::npos || dash < colon) {
        return fail("hostfwd: '{}' is not {}", text, kForm);
    }
    const std::string_view protocol = text.substr(0, colon);
    if (protocol == "udp") {
        forward.protocol = HostForward::Protocol::kUdp;
    } else if (!protocol.empty() && protocol != "tcp") {
        return fail("hostfwd: unknown protocol '{}' (tcp or udp)", protocol);
    }

    const std::string_view host = text.substr(colon + 1, dash - colon - 1);
    std::string_view host_address, host_port;
    if (host.starts_with('[')) {
        const size_t close = host.find(']');
        if (close == std::string_view::npos || close + 1 >= host.size() || host[close + 1] != ':') {
            return fail("hostfwd: '{}': a bracketed IPv6 address is [ADDR]:PORT", host);
        }
        host_address = host.substr(1, close - 1);
        host_port = host.substr(close + 2);
        std::array<uint8_t, 16> address{};
        const std::string nul_terminated(host_address);
        if (host_address.empty() ||
            ::inet_pton(AF_INET6, nul_terminated.c_str(), address.data()) != 1) {
            return fail("hostfwd: bad IPv6 host address '{}'", host_address);
        }
        forward.host_ipv6 = address;
    } else {
        const size_t last = host.rfind(':');
        if (last == std::string_view::npos) {
            return fail("hostfwd: '{}' is not {}", text, kForm);
        }
        host_address = host.substr(0, last);
        host_port = host.substr(last + 1);
        if (!host_address.empty()) {
            forward.host_ipv4 = parse_ipv4(host_address);
            if (!forward.host_ipv4) {
                return fail("hostfwd: bad host address '{}' (IPv6 goes in brackets: [::1])",
                            host_address);
            }
        }
    }
    const auto parsed_host_port = parse_port(host_port);
    if (!parsed_host_port) {
        return fail("hostfwd: bad host port '{}' (1 to 65535)", host_port);
    }
    forward.host_port = *parsed_host_port;

    const std::string_view guest = text.substr(dash + 1);
    const size_t guest_colon = guest.rfind(':');
    if (guest_colon == std::string_view::npos) {
        return fail("hostfwd: '{}' is not {}", text, kForm);
    }
    const std::string_view guest_address = guest.substr(0, guest_colon);
    if (!guest_address.empty()) {
        forward.guest_address = parse_ipv4(guest_address);
        if (!forward.guest_address) {
            return fail("hostfwd: bad guest address '{}'", guest_address);
        }
    }
    const auto guest_port = parse_port(guest.substr(guest_colon + 1));
    if (!guest_port) {
        return fail("hostfwd: bad guest port '{}' (1 to 65535)", guest.substr(guest_colon + 1));
    }
    forward.guest_port = *guest_port;
    return forward;
}

std::string to_string(const HostForward& forward) {
    std::string host;
    if (forward.host_ipv4) {
        host = to_string(*forward.host_ipv4);
    } else if (forward.host_ipv6) {
        host = "[" + ipv6_to_string(*forward.host_ipv6) + "]";
    }
    return fmt::format(
        "{}:{}:{}-{}:{}", forward.protocol == HostForward::Protocol::kUdp ? "udp" : "tcp", host,
        forward.host_port, forward.guest_address ? to_string(*forward.guest_address) : "",
        forward.guest_port);
}

Result<void> apply_user_net_option(UserNetConfig& config, std::string_view key,
                                   std::string_view value) {
    if (key == "hostfwd") {
        config.forwards.push_back(HVMM_TRY(parse_host_forward(value)));
        return {};
    }
    if (key == "net") {
        // QEMU takes a bare address as a /24.
        const std::string with_prefix = value.find('/') == std::string_view::npos
                                            ? std::string(value) + "/24"
                                            : std::string(value);
        const auto network = parse_ipv4_subnet(with_prefix);
        if (!network || network->prefix == 0 || network->prefix > kLongestPrefix) {
            return fail("net={}: expected a network like 10.0.2.0/24 (host bits zero, /1 to /{})",
                        value, kLongestPrefix);
        }
        config.network = *network;
        return {};
    }
    if (key == "dns") {
        config.dns = parse_ipv4(value);
        if (!config.dns) {
            return fail("dns={}: not an IPv4 address", value);
        }
        return {};
    }
    if (key == "restrict" || key == "ipv6") {
        const auto on = parse_switch(value);
        if (!on) {
            return fail("{}={}: expected on or off", key, value);
        }
        (key == "restrict" ? config.restrict : config.ipv6) = *on;
        return {};
    }
    return fail("unknown option '{}' for a user network (known: hostfwd, net, dns, restrict, ipv6)",
                key);
}

Result<void> check_user_net_config(const UserNetConfig& config) {
    const Ipv4Subnet& net = config.network;
    const auto usable = [&](Ipv4Address a) {
        return net.contains(a) && a != net.network && a != net.broadcast();
    };
    if (!usable(config.dns_address())) {
        return fail("dns={} is not a host address of net={}", to_string(config.dns_address()),
                    to_string(net));
    }
    if (config.dns_at_gateway && config.dns) {
        return fail("dns={}: the DNS is the gateway's address here", to_string(*config.dns));
    }
    if (!config.dns_at_gateway && config.dns_address() == config.gateway()) {
        return fail("dns={} is the gateway's address", to_string(config.dns_address()));
    }
    for (size_t i = 0; i < config.forwards.size(); ++i) {
        const HostForward& f = config.forwards[i];
        if (!config.dhcp && (f.host_ipv6 || !f.guest_address)) {
            // libslirp's default guest is its first DHCP address (IPv4) or the first guest its
            // neighbour discovery met (IPv6): with its DHCP off neither names a guest.
            return fail(
                "hostfwd={}: give the guest's address (HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT, "
                "HOSTADDR IPv4 or empty): no DHCP of this network picks one",
                to_string(f));
        }
        if (f.guest_address && !usable(*f.guest_address)) {
            return fail("hostfwd={}: the guest address is not a host address of net={}",
                        to_string(f), to_string(net));
        }
        for (size_t j = 0; j < i; ++j) {
            const HostForward& g = config.forwards[j];
            if (f.protocol == g.protocol && f.host_port == g.host_port &&
                f.host_ipv4 == g.host_ipv4 && f.host_ipv6 == g.host_ipv6) {
                return fail("hostfwd={} and hostfwd={} use the same host port", to_string(g),
                            to_string(f));
            }
        }
    }
    return {};
}

}  // namespace hvmm::net
