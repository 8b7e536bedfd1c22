#!/bin/bash
# The demo's guest part (scripts/demo.sh runs it on a host with usable KVM, or inside the lab):
# 1. hvmm boots the default guest with a PCnet NIC on the user (NAT) network: no set-up and no
#    root (in the lab, run as uid 65534); the guest takes its address by DHCP and fetches a
#    page from a web server on this host through the NAT's gateway, 10.0.2.2.
# 2. Where we are root: the same NIC on a TAP; the guest pings the host end of the TAP.
set -euo pipefail

TAP=hvmm-demo0
HOST_IP=10.0.2.1 GUEST_IP=10.0.2.15
PAGE_PORT=8321
WWW=$(mktemp -d)

cleanup() {
    ip link del "$TAP" 2>/dev/null || true
    pkill -f "httpd -p 127.0.0.1:$PAGE_PORT" 2>/dev/null || true
    rm -rf "$WWW"
}

# as_user COMMAND...: in the lab as root, as uid 65534 with no capability (hvmm, the image and
# /dev/kvm are readable there); elsewhere as we are (a root's build tree and cache under /root
# are not another user's to read).
as_user() {
    if [[ $(id -u) == 0 && -n ${HVMM_IN_LAB:-} ]]; then
        [[ -c /dev/kvm ]] && chmod o+rw /dev/kvm
        /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"
    else
        "$@"
    fi
}

demo_nat() {
    echo "Hello from the host, through hvmm's NAT." >"$WWW/index.html"
    chmod -R a+rX "$WWW"
    busybox httpd -p "127.0.0.1:$PAGE_PORT" -h "$WWW"
    local guest_commands="
echo '--- kernel:'; uname -r
echo '--- NIC:'; dmesg | grep -iE 'pcnet32|eth0' | head -n 3
echo '--- address by DHCP:'; ip -4 addr show eth0 | grep inet
echo '--- a page from the host (http://10.0.2.2:$PAGE_PORT/):'; wget -qO- http://10.0.2.2:$PAGE_PORT/"
    echo "=== 1. the user (NAT) network, as uid $(as_user id -u): --nic pcnet"
    as_user hvmm run --nic pcnet --run "$guest_commands"
}

demo_tap() {
    if [[ $(id -u) != 0 ]]; then
        echo "=== 2. a TAP needs root (or CAP_NET_ADMIN) to create: skipped"
        return 0
    fi
    ip tuntap add "$TAP" mode tap
    ip addr add "$HOST_IP/24" dev "$TAP"
    ip link set "$TAP" up
    local guest_commands="
ip link set eth0 up && ip addr add $GUEST_IP/24 dev eth0
echo '--- ping the host:'; ping -c 3 -W 2 $HOST_IP"
    echo "=== 2. bridged to the host through a TAP (root): --nic pcnet,net=tap:$TAP"
    hvmm run --nic "pcnet,net=tap:$TAP" --run "$guest_commands"
}

main() {
    trap cleanup EXIT
    demo_nat
    demo_tap
}

main "$@"
