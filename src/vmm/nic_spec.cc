#include "vmm/nic_spec.h"

#include <set>
#include <vector>

#include "vmm/nic_network.h"

namespace hvmm {
namespace {

constexpr std::string_view kKnownKeys =
    "net, mac, pcap, reconnect, vhost, poll-us, and for a user network hostfwd, restrict, dns, "
    "ipv6";

// poll-us's ceiling: a turn of the I/O thread spins at most this long, so its other sources (the
// other NICs, the console, timers) still run within a millisecond.
constexpr unsigned kMaxPollMicroseconds = 1000;

Result<std::chrono::microseconds> parse_poll_us(std::string_view text) {
    const auto usecs = parse_option_number(text, kMaxPollMicroseconds);
    if (!usecs) {
        return fail("--nic: poll-us={} is not a whole number of microseconds from 0 to {}", text,
                    kMaxPollMicroseconds);
    }
    return std::chrono::microseconds(*usecs);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (true) {
        const size_t end = text.find(separator, start);
        parts.push_back(text.substr(start, end - start));
        if (end == std::string_view::npos) {
            return parts;
        }
        start = end + 1;
    }
}

std::optional<uint8_t> parse_hex_byte(std::string_view text) {
    if (text.size() != 2) {
        return std::nullopt;
    }
    uint8_t value = 0;
    for (const char c : text) {
        uint8_t digit = 0;
        if (c >= '0' && c <= '9') {
            digit = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            digit = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            digit = c - 'A' + 10;
        } else {
            return std::nullopt;
        }
        value = static_cast<uint8_t>(value << 4 | digit);
    }
    return value;
}

}  // namespace

MacAddress default_mac_address(unsigned nic_index) {
    return MacAddress{{0x52, 0x54, 0x00, 0x12, 0x34, static_cast<uint8_t>(0x56 + nic_index)}};
}

Result<MacAddress> parse_mac_address(std::string_view text) {
    const auto groups = split(text, ':');
    MacAddress mac{};
    bool ok = groups.size() == mac.bytes.size();
    for (size_t i = 0; ok && i < groups.size(); ++i) {
        const auto byte = parse_hex_byte(groups[i]);
        ok = byte.has_value();
        if (ok) {
            mac.bytes[i] = *byte;
        }
    }
    if (!ok) {
        return fail("--nic: bad MAC address '{}' (expected six hex pairs like 52:54:00:12:34:56)",
                    text);
    }
    if (mac.bytes[0] & 0x01) {
        return fail("--nic: MAC address '{}' is multicast; a NIC needs a unicast address", text);
    }
    return mac;
}

std::string format_mac_address(const MacAddress& mac) {
    const auto& b = mac.bytes;
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4],
                       b[5]);
}

Result<NicSpec> parse_nic_spec(std::string_view text, unsigned nic_index) {
    const auto parts = split(text, ',');
    NicSpec spec;
    spec.mac = default_mac_address(nic_index);
    if (parts[0] == "pcnet") {
        spec.model = NicModel::kPcnet;
    } else if (parts[0] == "virtio") {
        spec.model = NicModel::kVirtio;
    } else if (parts[0].empty() || parts[0].find('=') != std::string_view::npos) {
        return fail("--nic: the model comes first, as in 'pcnet,net=tap:tap0' (known: pcnet, virtio)");
    } else {
        return fail("--nic: unknown model '{}' (known: pcnet, virtio)", parts[0]);
    }
    std::optional<std::string_view> vhost;  // checked once the model and network are known

    std::set<std::string_view> seen;
    std::optional<std::string_view> user_key;   // the first user-network option given
    std::optional<std::string_view> reconnect;  // checked once the network is known
    std::string network;                        // net='s text, for messages
    for (size_t i = 1; i < parts.size(); ++i) {
        const std::string_view part = parts[i];
        const size_t equals = part.find('=');
        if (equals == std::string_view::npos) {
            return fail("--nic: '{}' is not key=value (known keys: {})", part, kKnownKeys);
        }
        const std::string_view key = part.substr(0, equals);
        const std::string_view value = part.substr(equals + 1);
        if (!seen.insert(key).second && key != "hostfwd") {
            // QEMU users write net=user and then net=SUBNET: say how ours is spelt.
            const bool user_subnet = key == "net" && (network == "user" || value == "user");
            return fail("--nic: {}= is given twice{}", key,
                        user_subnet ? " (a user network's subnet goes in net= itself: "
                                      "net=ADDR/PREFIX, without net=user)"
                                    : "");
        }
        if (key == "net") {
            // dgram's value has a comma of its own: the part right after LOCAL, with no '=',
            // is REMOTE (which is why socket paths may not contain ',' or '=').
            std::optional<std::string_view> remote;
            network = std::string(value);
            if (value.starts_with("dgram:") && i + 1 < parts.size() &&
                parts[i + 1].find('=') == std::string_view::npos) {
                remote = parts[++i];
                network += fmt::format(",{}", *remote);
            }
            HVMM_TRY_VOID(parse_network(value, remote, spec));
        } else if (key == "mac") {
            spec.mac = HVMM_TRY(parse_mac_address(value));
        } else if (key == "pcap") {
            if (value.empty()) {
                return fail("--nic: pcap= needs a file name");
            }
            spec.pcap_path = std::string(value);
        } else if (key == "reconnect") {
            reconnect = value;
        } else if (key == "vhost") {
            vhost = value;
        } else if (key == "poll-us") {
            spec.poll = HVMM_TRY(parse_poll_us(value));
            if (spec.model != NicModel::kVirtio) {
                return fail("--nic: poll-us= is for a virtio NIC (it polls a virtqueue)");
            }
        } else if (is_user_network_key(key)) {
            user_key = user_key.value_or(key);
            if (auto applied = net::apply_user_net_option(spec.user, key, value); !applied) {
                return fail("--nic: {}", applied.error().message);
            }
        } else {
            return fail("--nic: unknown option '{}' (known: {})", key, kKnownKeys);
        }
    }
    // No net= at all is a user network, as QEMU's -nic defaults to one.
    HVMM_TRY_VOID(finish_network(spec, user_key, reconnect, network));
    if (vhost) {
        if (*vhost == "on") {
            spec.vhost = VhostMode::kOn;
        } else if (*vhost == "auto") {
            spec.vhost = VhostMode::kAuto;
        } else if (*vhost != "off") {
            return fail("--nic: vhost= takes on, off or auto, not '{}'", *vhost);
        }
        if (spec.vhost != VhostMode::kOff && spec.model != NicModel::kVirtio) {
            return fail("--nic: vhost= is for a virtio NIC (vhost-net has no PCnet data path)");
        }
        if (spec.vhost != VhostMode::kOff && spec.net != NetKind::kTap) {
            return fail("--nic: vhost= needs net=tap:NAME (vhost-net moves frames to and from a TAP "
                        "in the host kernel; '{}' is not one)",
                        network.empty() ? "user" : network);
        }
        if (spec.vhost == VhostMode::kOn && spec.pcap_path) {
            return fail("--nic: pcap= cannot record a vhost=on NIC (its frames never pass through "
                        "hvmm); use vhost=off or vhost=auto, which records in userspace");
        }
        if (spec.vhost == VhostMode::kAuto && spec.pcap_path) {
            spec.vhost = VhostMode::kOff;  // the capture asked for frames vhost would not show
        }
    }
    return spec;
}

namespace {

// The socket path a NIC binds (and so owns while it runs), or nullptr.
const std::string* bound_path(const NicSpec& spec) {
    return spec.net == NetKind::kStreamListen || spec.net == NetKind::kDgram ? &spec.net_name
                                                                            : nullptr;
}

// Two user networks forwarding the same host port would both try to bind it.
Result<void> check_forwards(const NicSpec& a, const NicSpec& b, size_t ia, size_t ib) {
    if (a.net != NetKind::kUser || b.net != NetKind::kUser) {
        return {};
    }
    for (const auto& f : a.user.forwards) {
        for (const auto& g : b.user.forwards) {
            if (f.protocol == g.protocol && f.host_port == g.host_port &&
                f.host_ipv4 == g.host_ipv4 && f.host_ipv6 == g.host_ipv6) {
                return fail("--nic: NICs {} and {} both forward host port {} (hostfwd={})", ia, ib,
                            f.host_port, net::to_string(g));
            }
        }
    }
    return {};
}

}  // namespace

Result<void> check_nic_specs(std::span<const NicSpec> specs) {
    for (size_t i = 0; i < specs.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
            if (specs[i].mac == specs[j].mac) {
                return fail("--nic: NICs {} and {} both have MAC address {}", j, i,
                            format_mac_address(specs[i].mac));
            }
            if (specs[i].net == NetKind::kTap && specs[j].net == NetKind::kTap &&
                specs[i].net_name == specs[j].net_name) {
                return fail("--nic: NICs {} and {} both use TAP '{}'", j, i, specs[i].net_name);
            }
            const std::string* bound_i = bound_path(specs[i]);
            const std::string* bound_j = bound_path(specs[j]);
            if (bound_i && bound_j && *bound_i == *bound_j) {
                return fail("--nic: NICs {} and {} both bind the socket '{}'", j, i, *bound_i);
            }
            if (specs[i].pcap_path && specs[i].pcap_path == specs[j].pcap_path) {
                return fail("--nic: NICs {} and {} both record to '{}'", j, i, *specs[i].pcap_path);
            }
            HVMM_TRY_VOID(check_forwards(specs[j], specs[i], j, i));
        }
    }
    return {};
}

}  // namespace hvmm
