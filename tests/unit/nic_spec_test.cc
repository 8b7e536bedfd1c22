#include "vmm/nic_spec.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>

#include "net/recording_backend.h"
#include "net/socketpair/socketpair_backend.h"

namespace hvmm {
namespace {

std::string error_of(std::string_view text, unsigned index = 0) {
    auto spec = parse_nic_spec(text, index);
    EXPECT_FALSE(spec) << text;
    return spec ? std::string() : spec.error().message;
}

TEST(NicSpec, TapWithDefaultsParses) {
    auto spec = parse_nic_spec("pcnet,net=tap:tap0", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->model, NicModel::kPcnet);
    EXPECT_EQ(spec->net, NetKind::kTap);
    EXPECT_EQ(spec->net_name, "tap0");
    EXPECT_EQ(format_mac_address(spec->mac), "52:54:00:12:34:56");
    EXPECT_FALSE(spec->pcap_path);
}

TEST(NicSpec, DefaultMacCountsUpPerNic) {
    auto spec = parse_nic_spec("pcnet,net=tap:tap1", 2);
    ASSERT_TRUE(spec);
    EXPECT_EQ(format_mac_address(spec->mac), "52:54:00:12:34:58");
}

TEST(NicSpec, AllOptionsInAnyOrderParse) {
    auto spec = parse_nic_spec("pcnet,pcap=/tmp/x.pcap,mac=02:AB:cd:00:00:01,net=socketpair", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->net, NetKind::kSocketpair);
    EXPECT_EQ(format_mac_address(spec->mac), "02:ab:cd:00:00:01");
    EXPECT_EQ(spec->pcap_path, "/tmp/x.pcap");
}

TEST(NicSpec, BadMacIsNamedInTheError) {
    EXPECT_EQ(error_of("pcnet,net=tap:t,mac=52:54:zz").substr(0, 36),
              "--nic: bad MAC address '52:54:zz' (e");
    EXPECT_NE(error_of("pcnet,net=tap:t,mac=52:54:00:12:34:5").find("bad MAC address"),
              std::string::npos);
    EXPECT_NE(error_of("pcnet,net=tap:t,mac=52:54:00:12:34:56:78").find("bad MAC address"),
              std::string::npos);
    EXPECT_NE(error_of("pcnet,net=tap:t,mac=52-54-00-12-34-56").find("bad MAC address"),
              std::string::npos);
}

TEST(NicSpec, MulticastMacIsRefused) {
    EXPECT_NE(error_of("pcnet,net=tap:t,mac=01:00:5e:00:00:01").find("multicast"),
              std::string::npos);
}

TEST(NicSpec, UnknownModelListsTheKnownOnes) {
    EXPECT_EQ(error_of("ne2k,net=tap:t"), "--nic: unknown model 'ne2k' (known: pcnet, virtio)");
    EXPECT_NE(error_of("net=tap:t").find("model comes first"), std::string::npos);
}

TEST(NicSpec, UnknownOrMalformedOptionsAreNamed) {
    EXPECT_EQ(error_of("pcnet,net=tap:t,speed=10"),
              "--nic: unknown option 'speed' (known: net, mac, pcap, reconnect, vhost, poll-us, "
              "and for a user network hostfwd, restrict, dns, ipv6)");
    EXPECT_NE(error_of("pcnet,net=tap:t,verbose").find("'verbose' is not key=value"),
              std::string::npos);
    EXPECT_EQ(error_of("pcnet,net=tap:a,net=tap:b"), "--nic: net= is given twice");
    EXPECT_EQ(error_of("pcnet,net=user,net=10.0.3.0/24"),
              "--nic: net= is given twice (a user network's subnet goes in net= itself: "
              "net=ADDR/PREFIX, without net=user)");
    EXPECT_EQ(error_of("pcnet,restrict=on,restrict=off"), "--nic: restrict= is given twice");
    EXPECT_EQ(error_of("pcnet,net=tap:t,pcap="), "--nic: pcap= needs a file name");
}

TEST(NicSpec, NoNetworkMeansAUserNetworkWithQemuDefaults) {
    for (const char* text : {"pcnet", "pcnet,net=user", "pcnet,mac=52:54:00:00:00:01"}) {
        auto spec = parse_nic_spec(text, 0);
        ASSERT_TRUE(spec) << text << ": " << spec.error().message;
        EXPECT_EQ(spec->net, NetKind::kUser) << text;
        EXPECT_EQ(spec->user, net::UserNetConfig{}) << text;
        EXPECT_EQ(net::to_string(spec->user.network), "10.0.2.0/24");
    }
}

TEST(NicSpec, UserNetworkTakesQemuOptionsAndRepeatedHostfwd) {
    auto spec = parse_nic_spec(
        "pcnet,net=user,hostfwd=tcp::8080-:80,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53,"
        "restrict=on,dns=10.0.2.4,ipv6=off",
        0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->net, NetKind::kUser);
    ASSERT_EQ(spec->user.forwards.size(), 2u);
    EXPECT_EQ(net::to_string(spec->user.forwards[0]), "tcp::8080-:80");
    EXPECT_EQ(net::to_string(spec->user.forwards[1]), "udp:127.0.0.1:5353-10.0.2.15:53");
    EXPECT_TRUE(spec->user.restrict);
    EXPECT_FALSE(spec->user.ipv6);
    EXPECT_EQ(net::to_string(spec->user.dns_address()), "10.0.2.4");

    // Without net= at all, the options still make a user network.
    spec = parse_nic_spec("pcnet,hostfwd=tcp::2222-:22", 1);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->net, NetKind::kUser);
    ASSERT_EQ(spec->user.forwards.size(), 1u);
    EXPECT_EQ(spec->user.forwards[0].host_port, 2222);
}

TEST(NicSpec, SubnetInNetSelectsAUserNetworkOnIt) {
    auto spec = parse_nic_spec("pcnet,net=10.0.3.0/24,hostfwd=tcp::8080-:80", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->net, NetKind::kUser);
    EXPECT_EQ(net::to_string(spec->user.network), "10.0.3.0/24");
    EXPECT_EQ(net::to_string(spec->user.gateway()), "10.0.3.2");
    // A bare address is a /24, as QEMU takes it.
    spec = parse_nic_spec("pcnet,net=192.168.7.0", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(net::to_string(spec->user.network), "192.168.7.0/24");
    // dns= is checked against the subnet, wherever it comes in the value.
    EXPECT_EQ(error_of("pcnet,dns=10.0.2.3,net=10.0.3.0/24"),
              "--nic: dns=10.0.2.3 is not a host address of net=10.0.3.0/24");
}

TEST(NicSpec, BadUserOptionsAreNamed) {
    EXPECT_EQ(error_of("pcnet,hostfwd=tcp::99999-:80"),
              "--nic: hostfwd: bad host port '99999' (1 to 65535)");
    EXPECT_EQ(error_of("pcnet,restrict=maybe"), "--nic: restrict=maybe: expected on or off");
    EXPECT_EQ(error_of("pcnet,dns=ten"), "--nic: dns=ten: not an IPv4 address");
    EXPECT_EQ(error_of("pcnet,net=10.0.3.1/24"),
              "--nic: net=10.0.3.1/24: expected a network like 10.0.2.0/24 (host bits zero, /1 "
              "to /27) (net=ADDR/PREFIX selects a user network on that subnet)");
    EXPECT_EQ(error_of("pcnet,hostfwd=tcp::80-:80,hostfwd=tcp::80-:81"),
              "--nic: hostfwd=tcp::80-:80 and hostfwd=tcp::80-:81 use the same host port");
}

TEST(NicSpec, UserOptionsOnAnotherNetworkAreRefused) {
    EXPECT_EQ(error_of("pcnet,net=tap:t0,hostfwd=tcp::8080-:80"),
              "--nic: hostfwd= is an option of a user network (net=user or net=ADDR/PREFIX), not "
              "of net=tap:t0");
    // In any order.
    EXPECT_EQ(error_of("pcnet,restrict=on,net=stream:/tmp/s.sock"),
              "--nic: restrict= is an option of a user network (net=user or net=ADDR/PREFIX), not "
              "of net=stream:/tmp/s.sock");
    EXPECT_NE(error_of("pcnet,net=dgram:/tmp/a,/tmp/b,ipv6=off")
                  .find("not of net=dgram:/tmp/a,/tmp/b"),
              std::string::npos);
}

TEST(NicSpec, StreamAndSwitchForms) {
    auto spec = parse_nic_spec("pcnet,net=stream:/tmp/peer.sock", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->net, NetKind::kStream);
    EXPECT_EQ(spec->net_name, "/tmp/peer.sock");
    EXPECT_EQ(spec->reconnect.count(), 0);

    spec = parse_nic_spec("pcnet,reconnect=5,net=stream:/tmp/peer.sock", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->reconnect.count(), 5000);

    spec = parse_nic_spec("pcnet,net=stream-listen:/tmp/me.sock", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->net, NetKind::kStreamListen);
    EXPECT_EQ(spec->net_name, "/tmp/me.sock");

    spec = parse_nic_spec("pcnet,net=switch:lan-1", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->net, NetKind::kSwitch);
    EXPECT_EQ(spec->net_name, "lan-1");
    EXPECT_EQ(spec->reconnect, kSwitchReconnectPeriod);  // a restarted switch brings it back
    spec = parse_nic_spec("pcnet,net=switch:lan-1,reconnect=0", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->reconnect.count(), 0);
}

TEST(NicSpec, ReconnectBelongsToStreamClientsAndSwitches) {
    EXPECT_EQ(error_of("pcnet,net=tap:t0,reconnect=1"),
              "--nic: reconnect= is only for net=stream:PATH and net=switch:NAME, not net=tap:t0");
    EXPECT_NE(error_of("pcnet,net=stream-listen:/tmp/s,reconnect=1")
                  .find("not net=stream-listen:/tmp/s"),
              std::string::npos);
    EXPECT_NE(error_of("pcnet,reconnect=1").find("not a user network"), std::string::npos);
    EXPECT_EQ(error_of("pcnet,net=stream:/tmp/s,reconnect=soon"),
              "--nic: reconnect=soon is not a whole number of seconds from 0 to 3600");
    EXPECT_NE(error_of("pcnet,net=stream:/tmp/s,reconnect=-1").find("reconnect=-1"),
              std::string::npos);
    EXPECT_NE(error_of("pcnet,net=stream:/tmp/s,reconnect=3601").find("reconnect=3601"),
              std::string::npos);
}

TEST(NicSpec, DgramTakesThePartAfterLocalAsRemote) {
    auto spec = parse_nic_spec("pcnet,net=dgram:/tmp/a.sock,/tmp/b.sock,mac=02:00:00:00:00:01", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->net, NetKind::kDgram);
    EXPECT_EQ(spec->net_name, "/tmp/a.sock");
    EXPECT_EQ(spec->remote_path, "/tmp/b.sock");
    EXPECT_EQ(format_mac_address(spec->mac), "02:00:00:00:00:01");

    const std::string missing =
        "--nic: net=dgram:/tmp/a.sock needs ',REMOTE' right after LOCAL: the peer's socket path "
        "(no ',' or '=' in it)";
    EXPECT_EQ(error_of("pcnet,net=dgram:/tmp/a.sock"), missing);
    // A key=value right after LOCAL is not REMOTE.
    EXPECT_EQ(error_of("pcnet,net=dgram:/tmp/a.sock,mac=02:00:00:00:00:01"), missing);
    EXPECT_EQ(error_of("pcnet,net=dgram:/tmp/a.sock,/tmp/a.sock"),
              "--nic: net=dgram: LOCAL and REMOTE are both '/tmp/a.sock'; they must differ");
    EXPECT_EQ(error_of("pcnet,net=dgram:,/tmp/b"),
              "--nic: net=dgram:LOCAL,REMOTE needs LOCAL, a socket path");
    EXPECT_EQ(error_of("pcnet,net=dgram:/tmp/a,"),
              "--nic: net=dgram:LOCAL,REMOTE needs REMOTE, a socket path");
}

TEST(NicSpec, BadSocketPathsAndSwitchNamesAreNamed) {
    EXPECT_EQ(error_of("pcnet,net=stream:"), "--nic: net=stream:PATH needs PATH, a socket path");
    EXPECT_EQ(error_of("pcnet,net=stream-listen:"),
              "--nic: net=stream-listen:PATH needs PATH, a socket path");
    const std::string long_path = "/tmp/" + std::string(120, 'x');
    EXPECT_NE(error_of("pcnet,net=stream:" + long_path).find("at most 107"), std::string::npos);
    EXPECT_NE(error_of("pcnet,net=switch:../etc")
                  .find("--nic: net=switch: bad switch name '../etc'"),
              std::string::npos);
    EXPECT_NE(error_of("pcnet,net=switch:").find("bad switch name ''"), std::string::npos);
}

TEST(NicSpec, BadNetworksAreNamed) {
    EXPECT_EQ(error_of("pcnet,net=vde"),
              "--nic: unknown network 'vde' (known: user, ADDR/PREFIX, tap:NAME, stream:PATH, "
              "stream-listen:PATH, dgram:LOCAL,REMOTE, switch:NAME, socketpair)");
    EXPECT_NE(error_of("pcnet,net=tap:").find("bad TAP name ''"), std::string::npos);
    EXPECT_NE(error_of("pcnet,net=tap:sixteen-chars-xx").find("bad TAP name"), std::string::npos);
    EXPECT_NE(error_of("pcnet,net=slirp").find("unknown network 'slirp'"), std::string::npos);
}

TEST(NicSpec, NicsMustNotBindOneSocketOrForwardOneHostPort) {
    auto listen_a = parse_nic_spec("pcnet,net=stream-listen:/tmp/a.sock", 0);
    auto listen_a_again = parse_nic_spec("pcnet,net=stream-listen:/tmp/a.sock", 1);
    auto dgram_a = parse_nic_spec("pcnet,net=dgram:/tmp/a.sock,/tmp/b.sock", 1);
    auto client_a = parse_nic_spec("pcnet,net=stream:/tmp/a.sock", 1);
    ASSERT_TRUE(listen_a && listen_a_again && dgram_a && client_a);
    auto result = check_nic_specs(std::array{*listen_a, *listen_a_again});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message, "--nic: NICs 0 and 1 both bind the socket '/tmp/a.sock'");
    result = check_nic_specs(std::array{*listen_a, *dgram_a});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message, "--nic: NICs 0 and 1 both bind the socket '/tmp/a.sock'");
    // One NIC listening and another connecting to it is a wire between the two: allowed.
    EXPECT_TRUE(check_nic_specs(std::array{*listen_a, *client_a}));

    auto user_a = parse_nic_spec("pcnet,hostfwd=tcp::8080-:80", 0);
    auto user_b = parse_nic_spec("pcnet,net=10.0.3.0/24,hostfwd=tcp::8080-:8080", 1);
    auto user_c = parse_nic_spec("pcnet,net=10.0.3.0/24,hostfwd=udp::8080-:8080", 1);
    ASSERT_TRUE(user_a && user_b && user_c);
    result = check_nic_specs(std::array{*user_a, *user_b});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message,
              "--nic: NICs 0 and 1 both forward host port 8080 (hostfwd=tcp::8080-:8080)");
    EXPECT_TRUE(check_nic_specs(std::array{*user_a, *user_c}));
}

TEST(NicSpec, SeveralNicsMustNotShareMacTapOrCapture) {
    auto a = parse_nic_spec("pcnet,net=tap:t0", 0);
    auto b = parse_nic_spec("pcnet,net=tap:t1", 1);
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(check_nic_specs(std::array{*a, *b}));

    auto same_tap = parse_nic_spec("pcnet,net=tap:t0", 1);
    ASSERT_TRUE(same_tap);
    auto result = check_nic_specs(std::array{*a, *same_tap});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().message, "--nic: NICs 0 and 1 both use TAP 't0'");

    auto same_mac = parse_nic_spec("pcnet,net=tap:t1,mac=52:54:00:12:34:56", 1);
    ASSERT_TRUE(same_mac);
    result = check_nic_specs(std::array{*a, *same_mac});
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("52:54:00:12:34:56"), std::string::npos);
}

TEST(NicSpec, OpenBackendBuildsTheNamedBackend) {
    auto spec = parse_nic_spec("pcnet,net=socketpair", 0);
    ASSERT_TRUE(spec);
    auto backend = open_backend(*spec);
    ASSERT_TRUE(backend) << backend.error().message;
    EXPECT_NE(dynamic_cast<SocketpairBackend*>(backend->get()), nullptr);
}

TEST(NicSpec, OpenBackendWrapsInARecorderForPcap) {
    const std::string path = fmt::format("/tmp/hvmm-nicspec-{}.pcap", ::getpid());
    auto spec = parse_nic_spec("pcnet,net=socketpair,pcap=" + path, 0);
    ASSERT_TRUE(spec);
    auto backend = open_backend(*spec);
    ASSERT_TRUE(backend) << backend.error().message;
    auto* recorder = dynamic_cast<RecordingBackend*>(backend->get());
    ASSERT_NE(recorder, nullptr);
    EXPECT_NE(dynamic_cast<SocketpairBackend*>(&recorder->inner()), nullptr);
    EXPECT_EQ(::access(path.c_str(), F_OK), 0);
    ::unlink(path.c_str());
}

TEST(NicSpec, OpenBackendReportsAnUnwritableCapture) {
    auto spec = parse_nic_spec("pcnet,net=socketpair,pcap=/nonexistent-dir/c.pcap", 0);
    ASSERT_TRUE(spec);
    auto backend = open_backend(*spec);
    ASSERT_FALSE(backend);
    EXPECT_NE(backend.error().message.find("/nonexistent-dir/c.pcap"), std::string::npos);
}


TEST(NicSpec, VirtioModelWithVhostModes) {
    auto spec = parse_nic_spec("virtio,net=tap:tap0,vhost=on", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->model, NicModel::kVirtio);
    EXPECT_EQ(spec->vhost, VhostMode::kOn);
    spec = parse_nic_spec("virtio,net=tap:tap0,vhost=auto", 0);
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->vhost, VhostMode::kAuto);
    spec = parse_nic_spec("virtio,net=switch:lan0", 0);
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->model, NicModel::kVirtio);
    EXPECT_EQ(spec->vhost, VhostMode::kOff);
    EXPECT_EQ(spec->net, NetKind::kSwitch);
    spec = parse_nic_spec("virtio", 0);
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->net, NetKind::kUser);
}

TEST(NicSpec, VhostRefusedWhereItCannotWork) {
    EXPECT_EQ(error_of("virtio,net=tap:t,vhost=yes"), "--nic: vhost= takes on, off or auto, not 'yes'");
    EXPECT_NE(error_of("pcnet,net=tap:t,vhost=on").find("vhost= is for a virtio NIC"), std::string::npos);
    EXPECT_NE(error_of("virtio,net=user,vhost=on").find("vhost= needs net=tap:NAME"), std::string::npos);
    EXPECT_NE(error_of("virtio,vhost=auto").find("'user' is not one"), std::string::npos);
    EXPECT_TRUE(parse_nic_spec("pcnet,net=tap:t,vhost=off", 0));
    EXPECT_NE(error_of("virtio,net=tap:t,vhost=on,pcap=/tmp/x.pcap").find("pcap= cannot record"),
              std::string::npos);
    auto spec = parse_nic_spec("virtio,net=tap:t,vhost=auto,pcap=/tmp/x.pcap", 0);
    ASSERT_TRUE(spec);
    EXPECT_EQ(spec->vhost, VhostMode::kOff);  // auto yields to the capture
}

TEST(NicSpec, PollMicrosecondsForVirtioOnly) {
    auto spec = parse_nic_spec("virtio,net=tap:t,poll-us=50", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->poll, std::chrono::microseconds(50));
    spec = parse_nic_spec("virtio,net=tap:t,vhost=on,poll-us=1000", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->poll, std::chrono::microseconds(1000));
    EXPECT_EQ(parse_nic_spec("virtio", 0)->poll, std::chrono::microseconds(0));
    EXPECT_EQ(error_of("virtio,poll-us=1001"),
              "--nic: poll-us=1001 is not a whole number of microseconds from 0 to 1000");
    EXPECT_EQ(error_of("virtio,poll-us=-1"),
              "--nic: poll-us=-1 is not a whole number of microseconds from 0 to 1000");
    EXPECT_EQ(error_of("virtio,poll-us="),
              "--nic: poll-us= is not a whole number of microseconds from 0 to 1000");
    EXPECT_EQ(error_of("pcnet,net=tap:t,poll-us=50"),
              "--nic: poll-us= is for a virtio NIC (it polls a virtqueue)");
    EXPECT_NE(error_of("virtio,poll-us=5,poll-us=6").find("poll-us= is given twice"),
              std::string::npos);
}

}  // namespace
}  // namespace hvmm
