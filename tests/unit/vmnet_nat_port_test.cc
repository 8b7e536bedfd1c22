// The switch's NAT port on its own, over the real libslirp: VMware's layout in libslirp's terms,
// and frames through the port with a recording host standing in for the daemon.
#include "vmnet/nat_port.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/epoll.h>

#include <chrono>

#include <gtest/gtest.h>

#include "net/slirp/slirp_config.h"
#include "vmnet/dhcp_server.h"
#include "slirp_test_frames.h"

namespace hvmm::vmnet {
namespace {

using net::Ipv4Address;
using testing::Arp;

constexpr PortId kNatPort = 7;
constexpr MacAddress kVmMac{{0x52, 0x54, 0x00, 0x00, 0x00, 0x01}};
const Ipv4Address kNetwork = Ipv4Address::of(192, 168, 76, 0);
const Ipv4Address kGateway = Ipv4Address::of(192, 168, 76, 2);
const Ipv4Address kVm = Ipv4Address::of(192, 168, 76, 128);

struct RecordingHost : PortHost {
    std::vector<std::vector<uint8_t>> frames;
    void ingress(PortId port, std::span<const uint8_t> frame) override {
        EXPECT_EQ(port, kNatPort);
        frames.emplace_back(frame.begin(), frame.end());
    }
    void want_writable(PortId, bool) override {}
    void close_port(PortId, std::string_view) override {}
};

std::string ipv4_text(in_addr address) {
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &address, text, sizeof text);
    return text;
}

TEST(VmnetNatPort, ConfigIsVmwaresLayoutWithoutLibslirpsDhcp) {
    const net::UserNetConfig config = switch_nat_config(kNetwork, {});
    ASSERT_TRUE(net::check_user_net_config(config));
    EXPECT_EQ(config.gateway(), (net::Ipv4Subnet{kNetwork, 24}.host(DhcpServer::kGateway)))
        << "the DHCP's router";
    EXPECT_EQ(config.dns_address(), config.gateway()) << "the DHCP's DNS (none given)";
    const SlirpConfig slirp = net::make_slirp_config(config);
    EXPECT_EQ(ipv4_text(slirp.vhost), "192.168.76.2");
    EXPECT_EQ(ipv4_text(slirp.vnameserver), "192.168.76.2");
    EXPECT_EQ(ipv4_text(slirp.vnetmask), "255.255.255.0");
    EXPECT_TRUE(slirp.disable_dhcp);
    EXPECT_FALSE(slirp.disable_dns);
    EXPECT_EQ(net::describe_user_net(config),
              "user 192.168.76.0/24 (NAT, DNS at the gateway, no DHCP)");
}

TEST(VmnetNatPort, AnswersArpForTheGatewayIntoTheSwitchAndNamesItsMac) {
    RecordingHost host;
    auto opened = NatPort::open(kNatPort, host, switch_nat_config(kNetwork, {}), "test");
    ASSERT_TRUE(opened) << opened.error().message;
    NatPort& port = **opened;
    EXPECT_EQ(port.kind(), "nat");
    EXPECT_EQ(port.peer(), "NAT gateway 192.168.76.2");

    port.send(testing::arp_frame(
        net::kBroadcastMac,
        Arp{.op = 1, .sender_mac = kVmMac, .sender_ip = kVm, .target_ip = kGateway}));
    // Nothing comes back from inside send() (the daemon may be forwarding): only from the loop.
    EXPECT_TRUE(host.frames.empty());
    std::optional<Arp> reply;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!reply && std::chrono::steady_clock::now() < deadline) {
        pollfd readable{port.fd(), POLLIN, 0};
        if (::poll(&readable, 1, 20) > 0) {
            port.handle_events(EPOLLIN);
        }
        for (const auto& frame : host.frames) {
            if (auto arp = testing::read_arp(frame); arp && arp->op == 2) reply = arp;
        }
    }
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->sender_ip, kGateway);
    EXPECT_EQ(reply->target_mac, kVmMac);
    EXPECT_EQ(port.peer(), "NAT gateway 192.168.76.2 (" + net::to_string(reply->sender_mac) + ")");
    EXPECT_EQ(port.counters().tx_frames, 1u);
    const auto details = port.details();
    EXPECT_EQ(details["mac"], net::to_string(reply->sender_mac));
    EXPECT_EQ(details["counters"]["rx_frames"], 1);
    EXPECT_TRUE(details["forwards"].empty());
}

}  // namespace
}  // namespace hvmm::vmnet
