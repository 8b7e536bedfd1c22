// The NAT network's options in QEMU's vocabulary: hostfwd= in every form QEMU accepts, net=,
// dns=, restrict=, ipv6=, and malformed values refused with one line naming them.
#include "net/user_net_config.h"

#include <gtest/gtest.h>

namespace hvmm::net {
namespace {

HostForward forward(std::string_view text) {
    auto parsed = parse_host_forward(text);
    EXPECT_TRUE(parsed) << text << ": " << parsed.error().message;
    return parsed.value_or(HostForward{});
}

TEST(NetUserNetConfig, HostForwardWithEverySpelledOut) {
    const auto f = forward("udp:127.0.0.1:5353-10.0.2.15:53");
    EXPECT_EQ(f.protocol, HostForward::Protocol::kUdp);
    EXPECT_EQ(f.host_ipv4, Ipv4Address::of(127, 0, 0, 1));
    EXPECT_EQ(f.host_port, 5353);
    EXPECT_EQ(f.guest_address, Ipv4Address::of(10, 0, 2, 15));
    EXPECT_EQ(f.guest_port, 53);
    EXPECT_EQ(to_string(f), "udp:127.0.0.1:5353-10.0.2.15:53");
}

TEST(NetUserNetConfig, HostForwardDefaultsAsQemuDoes) {
    const auto f = forward("::2222-:22");  // the common "hostfwd=::2222-:22"
    EXPECT_EQ(f.protocol, HostForward::Protocol::kTcp);
    EXPECT_FALSE(f.host_ipv4);
    EXPECT_FALSE(f.host_ipv6);
    EXPECT_FALSE(f.guest_address);
    EXPECT_EQ(f.host_port, 2222);
    EXPECT_EQ(f.guest_port, 22);
    EXPECT_EQ(to_string(f), "tcp::2222-:22");
    EXPECT_EQ(forward("tcp::8080-:80").host_port, 8080);
}

TEST(NetUserNetConfig, HostForwardTakesABracketedIpv6HostAddress) {
    const auto f = forward("tcp:[::1]:8080-:80");
    ASSERT_TRUE(f.host_ipv6);
    EXPECT_EQ((*f.host_ipv6)[15], 1);
    EXPECT_EQ(to_string(f), "tcp:[::1]:8080-:80");
    EXPECT_TRUE(forward("tcp:[fe80::1:2]:1-:2").host_ipv6);
}

TEST(NetUserNetConfig, MalformedHostForwardsAreRefusedWithOneLine) {
    for (const char* text :
         {"", "tcp", "tcp:8080:80", "sctp::1-:2", "tcp::0-:22", "tcp::65536-:22", "tcp::22-:0",
          "tcp::x-:22", "tcp:1.2.3:22-:22", "tcp:::1:22-:22", "tcp:[::1]22-:22", "tcp:[]:22-:22",
          "tcp:[::g]:22-:22", "tcp::22-10.0.2:22", "tcp::22-", "tcp::22-22", "tcp::+22-:22",
          "tcp:[::1:22-:22"}) {
        const auto parsed = parse_host_forward(text);
        ASSERT_FALSE(parsed) << text;
        EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos);
        EXPECT_TRUE(parsed.error().message.starts_with("hostfwd:")) << parsed.error().message;
    }
}

TEST(NetUserNetConfig, OptionsApplyInQemuVocabulary) {
    UserNetConfig config;
    ASSERT_TRUE(apply_user_net_option(config, "net", "192.168.100.0/24"));
    ASSERT_TRUE(apply_user_net_option(config, "dns", "192.168.100.53"));
    ASSERT_TRUE(apply_user_net_option(config, "restrict", "on"));
    ASSERT_TRUE(apply_user_net_option(config, "ipv6", "off"));
    ASSERT_TRUE(apply_user_net_option(config, "hostfwd", "tcp::2222-:22"));
    ASSERT_TRUE(apply_user_net_option(config, "hostfwd", "udp::2222-:22"));
    EXPECT_TRUE(check_user_net_config(config));
    EXPECT_EQ(config.gateway(), Ipv4Address::of(192, 168, 100, 2));
    EXPECT_EQ(config.dns_address(), Ipv4Address::of(192, 168, 100, 53));
    EXPECT_EQ(config.first_dhcp_address(), Ipv4Address::of(192, 168, 100, 15));
    EXPECT_TRUE(config.restrict);
    EXPECT_FALSE(config.ipv6);
    EXPECT_EQ(config.forwards.size(), 2u);
}

TEST(NetUserNetConfig, DefaultsAreQemus) {
    const UserNetConfig config;
    EXPECT_EQ(to_string(config.network), "10.0.2.0/24");
    EXPECT_EQ(config.gateway(), Ipv4Address::of(10, 0, 2, 2));
    EXPECT_EQ(config.dns_address(), Ipv4Address::of(10, 0, 2, 3));
    EXPECT_FALSE(config.restrict);
    EXPECT_TRUE(config.ipv6);
    EXPECT_TRUE(check_user_net_config(config));
}

TEST(NetUserNetConfig, BareNetworkAddressIsASlash24) {
    UserNetConfig config;
    ASSERT_TRUE(apply_user_net_option(config, "net", "172.16.5.0"));
    EXPECT_EQ(config.network.prefix, 24);
}

TEST(NetUserNetConfig, BadValuesAreRefused) {
    UserNetConfig config;
    EXPECT_FALSE(apply_user_net_option(config, "net", "10.0.2.5/24")) << "host bits";
    EXPECT_FALSE(apply_user_net_option(config, "net", "10.0.2.0/28")) << "too small";
    EXPECT_FALSE(apply_user_net_option(config, "net", "10.0.2.0/0"));
    EXPECT_FALSE(apply_user_net_option(config, "net", "lan"));
    EXPECT_FALSE(apply_user_net_option(config, "dns", "10.0.2"));
    EXPECT_FALSE(apply_user_net_option(config, "restrict", "maybe"));
    const auto unknown = apply_user_net_option(config, "smb", "/tmp");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("known: hostfwd"), std::string::npos);
}

TEST(NetUserNetConfig, CheckRefusesOptionsThatDoNotFitTogether) {
    UserNetConfig config;
    config.dns = Ipv4Address::of(8, 8, 8, 8);
    EXPECT_FALSE(check_user_net_config(config)) << "DNS outside net=";
    config.dns = Ipv4Address::of(10, 0, 2, 2);
    EXPECT_FALSE(check_user_net_config(config)) << "DNS on the gateway";
    config.dns.reset();
    config.forwards = {forward("tcp::80-192.168.1.5:80")};
    EXPECT_FALSE(check_user_net_config(config)) << "guest outside net=";
    config.forwards = {forward("tcp::80-:80"), forward("tcp::80-:8080")};
    EXPECT_FALSE(check_user_net_config(config)) << "one host port twice";
    config.forwards = {forward("tcp:127.0.0.1:80-:80"), forward("tcp:127.0.0.2:80-:80")};
    EXPECT_TRUE(check_user_net_config(config)) << "different host addresses";
}

// A switch's NAT: no DHCP of libslirp's to pick a forward's guest, and DNS at the gateway.
TEST(NetUserNetConfig, WithoutItsDhcpEveryForwardNamesItsGuest) {
    UserNetConfig config;
    config.dhcp = false;
    config.forwards = {forward("tcp::8080-10.0.2.130:80")};
    EXPECT_TRUE(check_user_net_config(config));
    config.forwards = {forward("tcp::8080-:80")};
    const auto missing = check_user_net_config(config);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("guest's address"), std::string::npos);
    config.forwards = {forward("tcp:[::1]:8080-:80")};
    EXPECT_FALSE(check_user_net_config(config)) << "libslirp's first IPv6 guest is no choice";
}

TEST(NetUserNetConfig, DnsAtTheGatewayTakesNoOtherDns) {
    UserNetConfig config;
    config.dns_at_gateway = true;
    EXPECT_EQ(config.dns_address(), Ipv4Address::of(10, 0, 2, 2));
    EXPECT_TRUE(check_user_net_config(config));
    config.dns = Ipv4Address::of(10, 0, 2, 3);
    EXPECT_FALSE(check_user_net_config(config));
}

}  // namespace
}  // namespace hvmm::net
