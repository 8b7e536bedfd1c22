#include "vmm/nic_dhcp.h"

#include <fmt/format.h>

#include "vmnet/switch_control.h"
#include "vmnet/switch_paths.h"

namespace hvmm {
namespace {

// Asks a running switch (its control socket) whether it serves DHCP (`start --dhcp`). A switch
// that is not running yet gives the guest no DHCP: its link comes up later, when /init is past.
bool switch_serves_dhcp(const std::string& name) {
    const auto paths = vmnet::switch_paths(name, vmnet::current_switch_environment());
    if (!paths) {
        return false;
    }
    const auto status = vmnet::control_request(paths->control_socket, {{"op", "status"}},
                                               std::chrono::seconds(2));
    return status && status->contains("dhcp");
}

}  // namespace

bool network_offers_dhcp(const NicSpec& spec) {
    // No default: a new NetKind must say here whether its network answers DHCP.
    switch (spec.net) {
        case NetKind::kUser:  // libslirp's own DHCP server
            return true;
        case NetKind::kSwitch:  // when it was started with --dhcp
            return switch_serves_dhcp(spec.net_name);
        case NetKind::kTap:         // the host's own network, unknown to hvmm
        case NetKind::kStream:      // a peer hvmm knows nothing of (QEMU, passt: the command
        case NetKind::kStreamListen:  // can run udhcpc itself, /etc/udhcpc.script)
        case NetKind::kDgram:
        case NetKind::kSocketpair:  // a test's peer
            return false;
    }
    return false;
}

std::vector<std::string> dhcp_interfaces(std::span<const NicSpec> specs) {
    std::vector<std::string> interfaces;
    for (size_t i = 0; i < specs.size(); ++i) {
        if (network_offers_dhcp(specs[i])) {
            interfaces.push_back(fmt::format("eth{}", i));
        }
    }
    return interfaces;
}

}  // namespace hvmm
