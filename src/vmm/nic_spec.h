// The --nic option, given once per NIC: `--nic MODEL[,net=NETWORK][,mac=..][,pcap=FILE][,...]`.
//
//   MODEL                           pcnet (the paper's AMD PCnet-PCI II) or virtio (virtio-net over
//                                   modern virtio-pci)
//   vhost=on|off|auto               virtio on a TAP only: the data path in the host kernel
//                                   (/dev/vhost-net); auto uses it where /dev/vhost-net opens,
//                                   on fails with one clear error where it cannot. Default off.
//   poll-us=N                       virtio only: after a transmit drain empties the ring the I/O
//                                   thread watches it up to N microseconds (0..1000) before
//                                   turning the guest's kicks back on; with vhost, the kernel
//                                   worker's busy loop (QEMU's tap option of the same name).
//                                   Trades a spinning host CPU for VM exits. Default 0: none.
//                                   A vhost NIC's frames never pass through hvmm, so pcap= with
//                                   vhost=on is an error and makes vhost=auto stay in userspace.
//
//   net=user (or no net= at all)   NAT to the host's network through libslirp, as QEMU's
//                                   -nic default; QEMU's -netdev user options may follow:
//                                   hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
//                                   (repeatable), restrict=on|off, dns=ADDR, ipv6=on|off
//   net=ADDR/PREFIX                 the same, on that subnet instead of 10.0.2.0/24 (QEMU's
//                                   net= option of -netdev user; a bare ADDR means /24). One net=
//                                   key both selects the network and sets the subnet, so
//                                   `pcnet,net=10.0.3.0/24,hostfwd=tcp::8080-:80` is a user NIC.
//   net=tap:NAME                    a host TAP interface
//   net=stream:PATH[,reconnect=S]   client of a Unix stream socket in QEMU's -netdev stream
//                                   framing; reconnect=S retries every S seconds while down
//   net=stream-listen:PATH          the same, listening at PATH for one peer
//   net=dgram:LOCAL,REMOTE          QEMU's -netdev dgram over Unix datagram sockets: bound at
//                                   LOCAL, sending to REMOTE. The comma belongs to the value: the
//                                   part right after net=dgram:LOCAL, which has no '=', is REMOTE
//   net=switch:NAME[,reconnect=S]   a stream client of the named hvmm switch's socket
//                                   (vmnet/switch_paths.h), retrying every second by default so
//                                   a restarted switch brings the link back (reconnect=0: never)
//   net=socketpair                  an internal socketpair (tests)
//
// Socket paths may not contain ',' or '=' (the option's own separators). User-network options on
// another network, and reconnect= on one that is not stream: or switch:, are errors.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "net/mac_address.h"
#include "devices/virtio/net/vhost_mode.h"
#include "net/net_backend.h"
#include "net/user_net_config.h"
#include "vmnet/switch_paths.h"

namespace hvmm {

enum class NicModel { kPcnet, kVirtio };
using virtio::VhostMode;
enum class NetKind { kUser, kTap, kStream, kStreamListen, kDgram, kSwitch, kSocketpair };

struct NicSpec {
    NicModel model = NicModel::kPcnet;
    NetKind net = NetKind::kUser;
    // The TAP's name (kTap), the switch's name (kSwitch), the socket path (kStream,
    // kStreamListen) or LOCAL (kDgram); empty otherwise.
    std::string net_name;
    std::string remote_path;  // kDgram: REMOTE
    // kStream and kSwitch: the retry period while the link is down (zero: none).
    std::chrono::milliseconds reconnect{0};
    net::UserNetConfig user;  // kUser: the NAT's options
    MacAddress mac{};
    std::optional<std::string> pcap_path;
    VhostMode vhost = VhostMode::kOff;  // kVirtio on kTap only
    // kVirtio only: bounded polling of the transmit ring (userspace) or vhost's busy loop,
    // VirtioNetOptions::tx_poll. Zero: none.
    std::chrono::microseconds poll{0};
    bool operator==(const NicSpec&) const = default;
};

// A switch client's retry period when --nic gives no reconnect=.
inline constexpr std::chrono::milliseconds kSwitchReconnectPeriod{1000};

// The MAC a NIC gets when --nic names none: QEMU's familiar 52:54:00:12:34:56, counting up per NIC
// so several NICs never share one.
MacAddress default_mac_address(unsigned nic_index);

// Parses one --nic value; nic_index is its position among the --nic options (from 0). Errors are
// one line naming the bad part: "--nic: bad MAC address '52:54:zz'".
Result<NicSpec> parse_nic_spec(std::string_view text, unsigned nic_index);

// Refuses two NICs on one TAP, one MAC address, one capture file, one socket path to bind
// (stream-listen PATH or dgram LOCAL), or one host port forwarded.
Result<void> check_nic_specs(std::span<const NicSpec> specs);

// "aa:bb:cc:dd:ee:ff", six groups of two hex digits; a multicast address is refused.
Result<MacAddress> parse_mac_address(std::string_view text);
std::string format_mac_address(const MacAddress& mac);

// Opens the spec's backend, wrapped in a pcap recorder when it asks for one. A switch's socket
// is looked up in `environment` (the real one unless a test passes its own).
Result<std::unique_ptr<NetBackend>> open_backend(
    const NicSpec& spec,
    const vmnet::SwitchEnvironment& environment = vmnet::current_switch_environment());

}  // namespace hvmm
