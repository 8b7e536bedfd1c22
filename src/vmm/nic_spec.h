// The --nic option: `--nic pcnet,net=tap:NAME[,mac=52:54:00:12:34:56][,pcap=FILE]`, given once
// per NIC. `net=socketpair` connects the NIC to a socketpair (tests); `net=slirp` and
// `net=switch:NAME` are reserved for backends still to come.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "devices/pcnet/mac_address.h"
#include "net/net_backend.h"

namespace hvmm {

enum class NicModel { kPcnet };
enum class NetKind { kTap, kSocketpair };

struct NicSpec {
    NicModel model = NicModel::kPcnet;
    NetKind net = NetKind::kTap;
    std::string net_name;  // the TAP's name for kTap; empty otherwise
    MacAddress mac{};
    std::optional<std::string> pcap_path;
    bool operator==(const NicSpec&) const = default;
};

// The MAC a NIC gets when --nic names none: QEMU's familiar 52:54:00:12:34:56, counting up per NIC
// so several NICs never share one.
MacAddress default_mac_address(unsigned nic_index);

// Parses one --nic value; nic_index is its position among the --nic options (from 0). Errors are
// one line naming the bad part: "--nic: bad MAC address '52:54:zz'".
Result<NicSpec> parse_nic_spec(std::string_view text, unsigned nic_index);

// Refuses two NICs on one TAP or with one MAC address.
Result<void> check_nic_specs(std::span<const NicSpec> specs);

// "aa:bb:cc:dd:ee:ff", six groups of two hex digits; a multicast address is refused.
Result<MacAddress> parse_mac_address(std::string_view text);
std::string format_mac_address(const MacAddress& mac);

// Opens the spec's backend, wrapped in a pcap recorder when it asks for one.
Result<std::unique_ptr<NetBackend>> open_backend(const NicSpec& spec);

}  // namespace hvmm
