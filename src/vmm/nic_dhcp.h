// Which NICs the default guest image should configure by DHCP at boot. hvmm tells the image's
// /init through the kernel command line (hvmm.dhcp=eth0,eth1; guest/init runs busybox udhcpc on
// each), and only for a network known to answer: a TAP's far side is whatever the host has, so
// a guest on it keeps today's behaviour (no address unless the command sets one; the image's
// /etc/udhcpc.script is there for a command that asks itself).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "vmm/nic_spec.h"

namespace hvmm {

// True when the NIC's network has a DHCP server hvmm knows of: the user/NAT network's libslirp,
// or a running switch started with --dhcp (asked over its control socket).
bool network_offers_dhcp(const NicSpec& spec);

// The guest interfaces to configure by DHCP, in NIC order: NIC i is the guest's eth<i> (the
// NICs sit on the PCI bus in --nic order and the kernel names them in probe order).
std::vector<std::string> dhcp_interfaces(std::span<const NicSpec> specs);

}  // namespace hvmm
