#!/bin/bash
# The demo's guest part (scripts/demo.sh runs it on a host with usable KVM, or inside the lab):
# hvmm boots the default guest with a PCnet NIC on a TAP; the guest shows its kernel, the NIC
# bound by pcnet32, and pings the host end of the TAP.
set -euo pipefail

TAP=hvmm-demo0
HOST_IP=10.0.2.1 GUEST_IP=10.0.2.15

setup_tap() {
    ip tuntap add "$TAP" mode tap
    ip addr add "$HOST_IP/24" dev "$TAP"
    ip link set "$TAP" up
}

cleanup() { ip link del "$TAP" 2>/dev/null || true; }

main() {
    trap cleanup EXIT
    setup_tap
    local guest_commands="
echo '--- kernel:'; uname -r
echo '--- NIC:'; dmesg | grep -iE 'pcnet32|eth0' | head -n 5
ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0
echo '--- ping the host:'; ping -c 3 -W 2 $HOST_IP"
    # The NIC: a PCnet (Am79C970A) on the TAP. Remove this line to boot without a network.
    local nic=(--nic "pcnet,net=tap:$TAP")
    hvmm run "${nic[@]}" --run "$guest_commands"
}

main "$@"
