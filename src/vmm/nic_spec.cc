#include "vmm/nic_spec.h"

#include <set>
#include <vector>

#include "net/pcap_writer.h"
#include "net/recording_backend.h"
#include "net/socketpair/socketpair_backend.h"
#include "net/tap/tap_backend.h"

namespace hvmm {
namespace {

constexpr size_t kMaxInterfaceNameLength = 15;  // IFNAMSIZ - 1

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

Result<void> parse_net(std::string_view value, NicSpec& spec) {
    if (value.starts_with("tap:")) {
        const std::string_view name = value.substr(4);
        if (name.empty() || name.size() > kMaxInterfaceNameLength ||
            name.find_first_of("/ \t") != std::string_view::npos) {
            return fail("--nic: bad TAP name '{}' (1 to {} characters, no '/' or spaces)", name,
                        kMaxInterfaceNameLength);
        }
        spec.net = NetKind::kTap;
        spec.net_name = std::string(name);
        return {};
    }
    if (value == "socketpair") {
        spec.net = NetKind::kSocketpair;
        return {};
    }
    if (value == "slirp" || value.starts_with("switch:")) {
        return fail("--nic: net={} is not supported yet (known: tap:NAME, socketpair)", value);
    }
    return fail("--nic: unknown network '{}' (known: tap:NAME, socketpair)", value);
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
    if (parts[0] != "pcnet") {
        if (parts[0].empty() || parts[0].find('=') != std::string_view::npos) {
            return fail("--nic: the model comes first, as in 'pcnet,net=tap:tap0' (known: pcnet)");
        }
        return fail("--nic: unknown model '{}' (known: pcnet)", parts[0]);
    }
    spec.model = NicModel::kPcnet;

    std::set<std::string_view> seen;
    for (size_t i = 1; i < parts.size(); ++i) {
        const std::string_view part = parts[i];
        const size_t equals = part.find('=');
        if (equals == std::string_view::npos) {
            return fail("--nic: '{}' is not key=value (known keys: net, mac, pcap)", part);
        }
        const std::string_view key = part.substr(0, equals);
        const std::string_view value = part.substr(equals + 1);
        if (!seen.insert(key).second) {
            return fail("--nic: {}= is given twice", key);
        }
        if (key == "net") {
            HVMM_TRY_VOID(parse_net(value, spec));
        } else if (key == "mac") {
            spec.mac = HVMM_TRY(parse_mac_address(value));
        } else if (key == "pcap") {
            if (value.empty()) {
                return fail("--nic: pcap= needs a file name");
            }
            spec.pcap_path = std::string(value);
        } else {
            return fail("--nic: unknown option '{}' (known: net, mac, pcap)", key);
        }
    }
    if (!seen.contains("net")) {
        return fail("--nic: '{}' says no network: add net=tap:NAME", text);
    }
    return spec;
}

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
            if (specs[i].pcap_path && specs[i].pcap_path == specs[j].pcap_path) {
                return fail("--nic: NICs {} and {} both record to '{}'", j, i, *specs[i].pcap_path);
            }
        }
    }
    return {};
}

Result<std::unique_ptr<NetBackend>> open_backend(const NicSpec& spec) {
    std::unique_ptr<NetBackend> backend;
    switch (spec.net) {
        case NetKind::kTap:
            backend = HVMM_TRY(TapBackend::open(spec.net_name));
            break;
        case NetKind::kSocketpair:
            backend = HVMM_TRY(SocketpairBackend::create());
            break;
    }
    if (spec.pcap_path) {
        PcapWriter writer = HVMM_TRY(PcapWriter::create(*spec.pcap_path));
        backend = std::make_unique<RecordingBackend>(std::move(backend), std::move(writer));
    }
    return backend;
}

}  // namespace hvmm
