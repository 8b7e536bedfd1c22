// The switch's NAT port (`hvmm switch start NAME --nat`, VMware's VMnet8): libslirp, the same
// SlirpBackend as `--nic ...,net=user`, as one more station on the switch. VMware's layout, as
// the switch's DHCP server advertises it: libslirp is the gateway and the DNS at the subnet's .2
// (DhcpServer::kGateway) and answers ARP for it with its own MAC, which the fabric learns from
// its frames like any station's; broadcasts flood to it as to every port. libslirp's own DHCP
// server is off: the switch's --dhcp (or the user, by hand) gives the addresses, so every
// --hostfwd names its guest.
//
// Frames: what the fabric forwards here goes into libslirp, and the replies it makes meanwhile
// wait in the backend's bounded queue, so forwarding never recurses. What libslirp makes comes
// out in handle_events(), a bounded batch per event, into the switch, where each port's own
// bounded send queue takes it: nothing grows without bound whoever is slow.
//
// Single-threaded (the daemon's loop); the backend's locks are uncontended here.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "net/slirp/slirp_backend.h"
#include "net/user_net_config.h"
#include "vmnet/switch_port.h"

namespace hvmm::vmnet {

// The NAT of a switch whose /24 starts at `network`: gateway and DNS at .2, libslirp's DHCP off,
// libslirp's other defaults (IPv6 on, not restricted) as for net=user. Not yet checked: see
// net::check_user_net_config (which then wants a guest address in every forward).
net::UserNetConfig switch_nat_config(net::Ipv4Address network,
                                     std::vector<net::HostForward> forwards);

class NatPort final : public SwitchPort, private FrameSink {
  public:
    // Starts libslirp and binds every forward's host port; a port in use is a one-line error.
    static Result<std::unique_ptr<NatPort>> open(PortId id, PortHost& host,
                                                 const net::UserNetConfig& config,
                                                 std::string_view switch_name);

    std::string_view kind() const override { return "nat"; }
    std::string peer() const override;
    void send(std::span<const uint8_t> frame) override { backend_->send(frame); }
    int fd() const override { return backend_->receive_fd(); }
    void handle_events(uint32_t) override { backend_->poll_receive(); }
    PortCounters counters() const override;
    nlohmann::json details() const override;

  private:
    NatPort(PortId id, PortHost& host, net::UserNetConfig config,
            std::unique_ptr<SlirpBackend> backend);
    // FrameSink: libslirp's frames go into the switch, which never refuses one (a port that
    // cannot take it drops it and counts).
    bool can_receive() override { return true; }
    void receive(std::span<const uint8_t> frame) override;

    PortId id_;
    PortHost& host_;
    net::UserNetConfig config_;
    std::unique_ptr<SlirpBackend> backend_;
    std::optional<MacAddress> libslirp_mac_;  // from its first frame, for `status`
};

}  // namespace hvmm::vmnet
