#include "vmm/nic_network.h"

#include "net/socket/unix_socket_path.h"

namespace hvmm {
namespace {

constexpr size_t kMaxInterfaceNameLength = 15;  // IFNAMSIZ - 1
constexpr unsigned kMaxReconnectSeconds = 3600;

// A socket path in a --nic value: not empty, and one a Unix socket address can hold, checked
// now so that a bad path is named before anything starts.
// form is the network's form ("stream:PATH"), part the path's name in it ("PATH").
Result<std::string> socket_path(std::string_view form, std::string_view part,
                                std::string_view path) {
    if (path.empty()) {
        return fail("--nic: net={} needs {}, a socket path", form, part);
    }
    if (auto address = net::unix_address(path); !address) {
        return fail("--nic: net={}: {}", form, address.error().message);
    }
    return std::string(path);
}

Result<std::chrono::milliseconds> parse_reconnect(std::string_view text) {
    const auto seconds = parse_option_number(text, kMaxReconnectSeconds);
    if (!seconds) {
        return fail("--nic: reconnect={} is not a whole number of seconds from 0 to {}", text,
                    kMaxReconnectSeconds);
    }
    return std::chrono::milliseconds(*seconds * 1000ull);
}

}  // namespace

std::optional<unsigned> parse_option_number(std::string_view text, unsigned max) {
    unsigned value = 0;
    bool ok = !text.empty() && text.size() <= 4;
    for (const char c : text) {
        ok = ok && c >= '0' && c <= '9';
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return ok && value <= max ? std::optional(value) : std::nullopt;
}

bool is_user_network_key(std::string_view key) {
    return key == "hostfwd" || key == "restrict" || key == "dns" || key == "ipv6";
}

Result<void> parse_network(std::string_view value, std::optional<std::string_view> remote,
                           NicSpec& spec) {
    const auto after = [value](std::string_view prefix) { return value.substr(prefix.size()); };
    if (value == "user") {
        spec.net = NetKind::kUser;
    } else if (!value.empty() && value[0] >= '0' && value[0] <= '9') {
        // A subnet: QEMU's net= option of -netdev user, which our net= key takes over.
        spec.net = NetKind::kUser;
        if (auto applied = net::apply_user_net_option(spec.user, "net", value); !applied) {
            return fail("--nic: {} (net=ADDR/PREFIX selects a user network on that subnet)",
                        applied.error().message);
        }
    } else if (value.starts_with("tap:")) {
        const std::string_view name = after("tap:");
        if (name.empty() || name.size() > kMaxInterfaceNameLength ||
            name.find_first_of("/ \t") != std::string_view::npos) {
            return fail("--nic: bad TAP name '{}' (1 to {} characters, no '/' or spaces)", name,
                        kMaxInterfaceNameLength);
        }
        spec.net = NetKind::kTap;
        spec.net_name = std::string(name);
    } else if (value.starts_with("stream:")) {
        spec.net = NetKind::kStream;
        spec.net_name = HVMM_TRY(socket_path("stream:PATH", "PATH", after("stream:")));
    } else if (value.starts_with("stream-listen:")) {
        spec.net = NetKind::kStreamListen;
        spec.net_name =
            HVMM_TRY(socket_path("stream-listen:PATH", "PATH", after("stream-listen:")));
    } else if (value.starts_with("dgram:")) {
        spec.net = NetKind::kDgram;
        spec.net_name = HVMM_TRY(socket_path("dgram:LOCAL,REMOTE", "LOCAL", after("dgram:")));
        if (!remote) {
            return fail("--nic: net=dgram:{} needs ',REMOTE' right after LOCAL: the peer's socket "
                        "path (no ',' or '=' in it)",
                        after("dgram:"));
        }
        spec.remote_path = HVMM_TRY(socket_path("dgram:LOCAL,REMOTE", "REMOTE", *remote));
        if (spec.remote_path == spec.net_name) {
            return fail("--nic: net=dgram: LOCAL and REMOTE are both '{}'; they must differ",
                        spec.net_name);
        }
    } else if (value.starts_with("switch:")) {
        const std::string_view name = after("switch:");
        if (auto checked = vmnet::check_switch_name(name); !checked) {
            return fail("--nic: net=switch: {}", checked.error().message);
        }
        spec.net = NetKind::kSwitch;
        spec.net_name = std::string(name);
        spec.reconnect = kSwitchReconnectPeriod;
    } else if (value == "socketpair") {
        spec.net = NetKind::kSocketpair;
    } else {
        return fail("--nic: unknown network '{}' (known: {})", value, kKnownNetworks);
    }
    return {};
}

Result<void> finish_network(NicSpec& spec, std::optional<std::string_view> user_key,
                            std::optional<std::string_view> reconnect, std::string_view network) {
    if (user_key && spec.net != NetKind::kUser) {
        return fail("--nic: {}= is an option of a user network (net=user or net=ADDR/PREFIX), "
                    "not of net={}",
                    *user_key, network);
    }
    if (reconnect) {
        if (spec.net != NetKind::kStream && spec.net != NetKind::kSwitch) {
            return fail("--nic: reconnect= is only for net=stream:PATH and net=switch:NAME, not "
                        "{}",
                        network.empty() ? std::string("a user network")
                                        : fmt::format("net={}", network));
        }
        spec.reconnect = HVMM_TRY(parse_reconnect(*reconnect));
    }
    if (spec.net == NetKind::kUser) {
        if (auto checked = net::check_user_net_config(spec.user); !checked) {
            return fail("--nic: {}", checked.error().message);
        }
    }
    return {};
}

}  // namespace hvmm
