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
    EXPECT_EQ(error_of("ne2k,net=tap:t"), "--nic: unknown model 'ne2k' (known: pcnet)");
    EXPECT_NE(error_of("net=tap:t").find("model comes first"), std::string::npos);
}

TEST(NicSpec, UnknownOrMalformedOptionsAreNamed) {
    EXPECT_EQ(error_of("pcnet,net=tap:t,speed=10"),
              "--nic: unknown option 'speed' (known: net, mac, pcap)");
    EXPECT_NE(error_of("pcnet,net=tap:t,verbose").find("'verbose' is not key=value"),
              std::string::npos);
    EXPECT_EQ(error_of("pcnet,net=tap:a,net=tap:b"), "--nic: net= is given twice");
    EXPECT_EQ(error_of("pcnet,net=tap:t,pcap="), "--nic: pcap= needs a file name");
}

TEST(NicSpec, MissingNetworkIsAnError) {
    EXPECT_NE(error_of("pcnet").find("add net=tap:NAME"), std::string::npos);
    EXPECT_NE(error_of("pcnet,mac=52:54:00:00:00:01").find("says no network"), std::string::npos);
}

TEST(NicSpec, BadNetworksAreNamed) {
    EXPECT_EQ(error_of("pcnet,net=vde"),
              "--nic: unknown network 'vde' (known: tap:NAME, socketpair)");
    EXPECT_NE(error_of("pcnet,net=tap:").find("bad TAP name ''"), std::string::npos);
    EXPECT_NE(error_of("pcnet,net=tap:sixteen-chars-xx").find("bad TAP name"), std::string::npos);
    EXPECT_NE(error_of("pcnet,net=slirp").find("not supported yet"), std::string::npos);
    EXPECT_NE(error_of("pcnet,net=switch:sw0").find("not supported yet"), std::string::npos);
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

}  // namespace
}  // namespace hvmm
