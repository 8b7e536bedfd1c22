// What `hvmm switch start` asks for: one named host-only network.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "net/ipv4.h"
#include "net/user_net_config.h"
#include "vmnet/dhcp_server.h"
#include "vmnet/mac_table.h"
#include "vmnet/stream_port.h"
#include "vmnet/switch_paths.h"

namespace hvmm::vmnet {

// The /24 a switch's DHCP server hands out when --subnet is not given: VMware's host-only
// networks live in 192.168.x.0/24 too, and .76 is unlikely to clash with a home router's.
inline constexpr net::Ipv4Address kDefaultSwitchNetwork = net::Ipv4Address::of(192, 168, 76, 0);

// Frames a port may send through the switch: a 9000-byte jumbo MTU with its Ethernet header and
// one VLAN tag. Longer ones (the framing carries up to 64 KiB) are dropped as oversize, and the
// peer keeps its connection.
inline constexpr size_t kMaxSwitchedFrame = 9000 + 14 + 4;

struct SwitchConfig {
    std::string name;
    SwitchPaths paths;
    std::optional<DhcpServerConfig> dhcp;  // --dhcp
    std::optional<net::UserNetConfig> nat;  // --nat [--hostfwd RULE]...: vmnet/nat_port.h
    std::optional<std::string> uplink_tap;  // --uplink tap:NAME
    std::optional<std::string> pcap_file;   // --pcap FILE
    MacTableConfig mac_table;
    StreamPortLimits port_limits;
    size_t max_stream_ports = 256;  // connections past this are closed at once and counted
};

}  // namespace hvmm::vmnet
