// `hvmm switch start NAME --nat`, end to end over the real libslirp and the built daemon: a
// stream client plays a VM, writing its ARP, DHCP and TCP frames by hand, and the host's side
// is ordinary sockets on the loopback.
#include <chrono>
#include <optional>
#include <string>

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dhcp_test_client.h"
#include "host_test_sockets.h"
#include "slirp_test_frames.h"
#include "switch_test_fixture.h"

namespace hvmm {
namespace {

using std::chrono::milliseconds;
using testing::Arp;
using testing::station;
using testing::SwitchClient;
using testing::SwitchCommand;
using testing::TcpSegment;
namespace tcp_flag = testing::tcp_flag;

const net::Ipv4Address kGateway = net::Ipv4Address::of(192, 168, 76, 2);
const net::Ipv4Address kDhcpServer = net::Ipv4Address::of(192, 168, 76, 254);
const net::Ipv4Address kForwardedGuest = net::Ipv4Address::of(192, 168, 76, 130);

// The first frame `read` parses and `match` accepts within `limit`; other frames (an RA, a
// flooded broadcast) are skipped.
template <class Read, class Match>
auto await_frame(SwitchClient& vm, Read read, Match match, milliseconds limit = milliseconds(3000))
    -> decltype(read(std::vector<uint8_t>{})) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        const auto left = std::chrono::duration_cast<milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        const auto frame = vm.read_frame(left);
        if (!frame) {
            return std::nullopt;
        }
        if (auto parsed = read(*frame); parsed && match(*parsed)) {
            return parsed;
        }
    }
}

std::optional<testing::Reply> await_dhcp(SwitchClient& vm, uint32_t xid,
                                         milliseconds limit = milliseconds(3000)) {
    return await_frame(vm, testing::read_reply,
                       [&](const testing::Reply& reply) { return reply.xid == xid; }, limit);
}

TEST_F(SwitchCommand, NatGivesALeasedVmTheGatewayAndTheHostsLoopback) {
    start("nat", {"--dhcp", "--nat"});
    auto vm = client("nat");
    const MacAddress mac = station(0x01);

    // The switch's DHCP server names the NAT as router and DNS; libslirp's own DHCP stays quiet.
    testing::ClientMessage discover{.mac = mac, .xid = 0x501};
    ASSERT_TRUE(vm.send_frame(testing::client_frame(discover)));
    const auto offer = await_dhcp(vm, discover.xid);
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->type(), 2);
    EXPECT_EQ(offer->address(54), kDhcpServer);
    EXPECT_EQ(offer->address(3), kGateway);
    EXPECT_EQ(offer->address(6), kGateway);
    EXPECT_FALSE(await_dhcp(vm, discover.xid, milliseconds(300))) << "a second DHCP server";
    testing::ClientMessage request{.type = 3,
                                   .mac = mac,
                                   .xid = 0x502,
                                   .requested = offer->yiaddr,
                                   .server_id = kDhcpServer};
    ASSERT_TRUE(vm.send_frame(testing::client_frame(request)));
    const auto ack = await_dhcp(vm, request.xid);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type(), 5);
    const net::Ipv4Address address = ack->yiaddr;
    EXPECT_EQ(ack->address(3), kGateway);

    // libslirp answers ARP for .2 with its own MAC.
    ASSERT_TRUE(vm.send_frame(testing::arp_frame(
        net::kBroadcastMac,
        Arp{.op = 1, .sender_mac = mac, .sender_ip = address, .target_ip = kGateway})));
    const auto gateway = await_frame(vm, testing::read_arp, [](const Arp& arp) {
        return arp.op == 2 && arp.sender_ip == kGateway;
    });
    ASSERT_TRUE(gateway);
    EXPECT_EQ(gateway->target_mac, mac);
    EXPECT_EQ(gateway->target_ip, address);
    EXPECT_TRUE(net::is_unicast_station(gateway->sender_mac));

    // A connection through the gateway to a listener on the host's loopback. Not to .2 itself,
    // as under net=user: .2 is the DNS too, and libslirp 4.7 sends everything for the DNS's
    // address to the host's resolver.
    testing::HostListener host;
    TcpSegment out{.destination_mac = gateway->sender_mac,
                   .source_mac = mac,
                   .source_ip = address,
                   .destination_ip = net::Ipv4Address::of(127, 0, 0, 1),
                   .source_port = 40000,
                   .destination_port = host.port,
                   .seq = 1000,
                   .flags = tcp_flag::kSyn};
    ASSERT_TRUE(vm.send_frame(testing::tcp_frame(out)));
    const auto syn_ack = await_frame(vm, testing::read_tcp, [](const TcpSegment& s) {
        return (s.flags & (tcp_flag::kSyn | tcp_flag::kAck)) == (tcp_flag::kSyn | tcp_flag::kAck);
    });
    ASSERT_TRUE(syn_ack);
    EXPECT_TRUE(syn_ack->checksums_ok);
    EXPECT_EQ(syn_ack->destination_mac, mac);
    EXPECT_EQ(syn_ack->source_mac, gateway->sender_mac);
    EXPECT_EQ(syn_ack->destination_ip, address);
    EXPECT_EQ(syn_ack->ack, 1001u);
    UniqueFd accepted;
    for (int i = 0; i < 1500 && !(accepted = host.accept()).valid(); ++i) {
        std::this_thread::sleep_for(milliseconds(20));
    }
    ASSERT_TRUE(accepted.valid());
    out.flags = tcp_flag::kAck | tcp_flag::kPsh;
    out.seq = 1001;
    out.ack = syn_ack->seq + 1;
    out.payload = {'h', 'e', 'l', 'l', 'o'};
    ASSERT_TRUE(vm.send_frame(testing::tcp_frame(out)));
    char received[16] = {};
    pollfd readable{accepted.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&readable, 1, 3000), 1);
    const ssize_t got = ::recv(accepted.get(), received, sizeof received, 0);
    ASSERT_GT(got, 0);
    EXPECT_EQ(std::string_view(received, static_cast<size_t>(got)), "hello");

    // The NAT is a port of its own, and the fabric learned libslirp's MAC on it.
    const auto s = status("nat");
    const auto nat = port_of(s, "nat", 0);
    ASSERT_TRUE(nat.is_object()) << s.dump();
    const std::string nat_mac = net::to_string(gateway->sender_mac);
    EXPECT_EQ(nat["details"]["gateway"], "192.168.76.2");
    EXPECT_EQ(nat["details"]["dns"], "192.168.76.2");
    EXPECT_EQ(nat["details"]["mac"], nat_mac);
    EXPECT_GE(nat["tx_frames"].get<uint64_t>(), 4u);
    EXPECT_GE(nat["details"]["counters"]["rx_frames"].get<uint64_t>(), 2u);
    EXPECT_EQ(nat["macs"], 1);
    bool learned = false;
    for (const auto& entry : s["mac_table"]["entries"]) {
        learned |= entry["mac"] == nat_mac && entry["port"] == nat["id"];
    }
    EXPECT_TRUE(learned) << s["mac_table"].dump();
    const auto text = hvmm({"switch", "status", "nat"});
    EXPECT_NE(text.out.find("nat 192.168.76.0/24: gateway and DNS 192.168.76.2"),
              std::string::npos)
        << text.out;
    EXPECT_EQ(hvmm({"switch", "stop", "nat"}).status, 0);
}

TEST_F(SwitchCommand, NatForwardsAHostPortToAStaticallyAddressedVm) {
    const uint16_t port = testing::free_port();
    const std::string rule = fmt::format("tcp:127.0.0.1:{}-192.168.76.130:80", port);
    start("fwd", {"--nat", "--hostfwd", rule});
    auto vm = client("fwd");
    status_with_ports("fwd", 1);
    const MacAddress mac = station(0x30);

    // Without --dhcp nobody hands out addresses: libslirp's DHCP is off too.
    testing::ClientMessage discover{.mac = mac, .xid = 0x601};
    ASSERT_TRUE(vm.send_frame(testing::client_frame(discover)));
    EXPECT_FALSE(await_dhcp(vm, discover.xid, milliseconds(300)));

    // A connection to the host port: libslirp asks who has the guest address, the VM answers,
    // and the SYN arrives.
    const UniqueFd host_client = testing::connect_to_loopback(false, port);
    const auto who_has = await_frame(vm, testing::read_arp, [](const Arp& arp) {
        return arp.op == 1 && arp.target_ip == kForwardedGuest;
    });
    ASSERT_TRUE(who_has);
    EXPECT_EQ(who_has->sender_ip, kGateway);
    ASSERT_TRUE(vm.send_frame(testing::arp_frame(who_has->sender_mac,
                                                 Arp{.op = 2,
                                                     .sender_mac = mac,
                                                     .sender_ip = kForwardedGuest,
                                                     .target_mac = who_has->sender_mac,
                                                     .target_ip = who_has->sender_ip})));
    const auto syn = await_frame(
        vm, testing::read_tcp, [](const TcpSegment& s) { return s.flags & tcp_flag::kSyn; });
    ASSERT_TRUE(syn);
    EXPECT_TRUE(syn->checksums_ok);
    EXPECT_EQ(syn->flags & tcp_flag::kAck, 0);
    EXPECT_EQ(syn->destination_mac, mac);
    EXPECT_EQ(syn->destination_ip, kForwardedGuest);
    EXPECT_EQ(syn->destination_port, 80);

    const auto nat = port_of(status("fwd"), "nat", 0);
    ASSERT_TRUE(nat.is_object());
    EXPECT_EQ(nat["details"]["forwards"], nlohmann::json::array({rule}));
    const auto text = hvmm({"switch", "status", "fwd"});
    EXPECT_NE(text.out.find("hostfwd " + rule), std::string::npos) << text.out;
}

TEST_F(SwitchCommand, NatOptionErrorsAreOneLineAndLeaveNothingRunning) {
    testing::HostListener busy;
    const struct {
        std::vector<std::string> options;
        std::string says;
    } cases[] = {
        {{"--hostfwd", "tcp::8080-192.168.76.130:80"}, "add --nat"},
        {{"--nat", "--hostfwd", "tcp::8080-:80"}, "guest's address"},
        {{"--nat", "--hostfwd", "tcp:[::1]:8080-192.168.76.130:80"}, "guest's address"},
        {{"--nat", "--hostfwd", "tcp::8080-192.168.99.130:80"}, "not a host address"},
        {{"--nat", "--hostfwd", "sctp::8080-192.168.76.130:80"}, "unknown protocol"},
        {{"--nat", "--hostfwd", fmt::format("tcp:127.0.0.1:{}-192.168.76.130:80", busy.port)},
         "in use"},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args{"switch", "start", "bad"};
        args.insert(args.end(), c.options.begin(), c.options.end());
        started_.push_back("bad");
        const auto result = hvmm(args);
        EXPECT_EQ(result.status, 1) << c.options.back();
        EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
        EXPECT_NE(result.err.find(c.says), std::string::npos) << result.err;
        EXPECT_FALSE(exists(socket("bad")));
        EXPECT_FALSE(exists(dir_ + "/bad.pid"));
        EXPECT_EQ(hvmm({"switch", "status", "bad"}).status, 1);
    }
}

}  // namespace
}  // namespace hvmm
