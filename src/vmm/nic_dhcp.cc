#include "vmm/nic_dhcp.h"

#include <fmt/format.h>

namespace hvmm {

bool network_offers_dhcp(const NicSpec& spec) {
    // No default: a new NetKind must say here whether its network answers DHCP.
    switch (spec.net) {
        case NetKind::kUser:  // libslirp's own DHCP server
            return true;
        case NetKind::kSwitch:  // `hvmm switch start --dhcp`; a switch without it costs the
                                // guest's udhcpc its tries (about 10 s), then the command runs
            return true;
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
