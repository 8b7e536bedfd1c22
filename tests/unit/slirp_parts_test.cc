// The user network's pure parts: the ping_group_range check, libslirp's timers as deadlines,
// the bounded queue to the guest, and UserNetConfig in libslirp's terms.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "net/slirp/guest_frame_queue.h"
#include "net/slirp/ping_group_range.h"
#include "net/slirp/slirp_config.h"
#include "net/slirp/slirp_timers.h"

namespace hvmm::net {
namespace {

TEST(PingGroupRange, ReadsTheKernelsFormat) {
    const auto range = parse_ping_group_range("1\t0\n");
    ASSERT_TRUE(range);
    EXPECT_EQ(range->first, 1u);
    EXPECT_EQ(range->last, 0u);
    EXPECT_FALSE(range->contains(0));
    EXPECT_FALSE(range->contains(1));
    const auto open = parse_ping_group_range("0 2147483647");
    ASSERT_TRUE(open);
    EXPECT_TRUE(open->contains(1000));
    EXPECT_FALSE(parse_ping_group_range(""));
    EXPECT_FALSE(parse_ping_group_range("1"));
    EXPECT_FALSE(parse_ping_group_range("1 2 3"));
    EXPECT_FALSE(parse_ping_group_range("a b"));
}

TEST(PingGroupRange, AnyOfTheProcesssGroupsWillDo) {
    const GroupRange range{100, 200};
    const std::vector<gid_t> none{5, 6};
    const std::vector<gid_t> one{5, 150};
    EXPECT_FALSE(ping_sockets_allowed(range, 0, none));
    EXPECT_TRUE(ping_sockets_allowed(range, 0, one));
    EXPECT_TRUE(ping_sockets_allowed(range, 100, none));
    EXPECT_FALSE(ping_sockets_allowed(GroupRange{1, 0}, 0, one));
}

TEST(PingGroupRange, WarnsOnceWithTheSysctlThatFixesIt) {
    char path[] = "/tmp/hvmm-ping-range-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << "1\t0\n";
    const auto warning = ping_sockets_warning(path);
    ASSERT_TRUE(warning);
    EXPECT_NE(warning->find("ICMP (ping) from the guest will not work"), std::string::npos);
    EXPECT_NE(warning->find("sysctl -w net.ipv4.ping_group_range=\"0 2147483647\""),
              std::string::npos);
    EXPECT_EQ(warning->find('\n'), std::string::npos);
    std::ofstream(path) << "0\t4294967294\n";
    EXPECT_FALSE(ping_sockets_warning(path));
    std::remove(path);
    EXPECT_FALSE(ping_sockets_warning("/nonexistent/ping_group_range"));
}

TEST(SlirpTimers, KeepDeadlinesAndHandOverWhatExpired) {
    SlirpTimers timers;
    int a_opaque = 0, b_opaque = 0;
    void* a = timers.create(SLIRP_TIMER_RA, &a_opaque);
    void* b = timers.create(SLIRP_TIMER_RA, &b_opaque);
    EXPECT_FALSE(timers.earliest());  // created disarmed
    timers.modify(a, 500);
    timers.modify(b, 300);
    EXPECT_EQ(timers.earliest(), 300);
    EXPECT_TRUE(timers.take_expired(299).empty());
    const auto expired = timers.take_expired(300);
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired[0].cb_opaque, &b_opaque);
    EXPECT_EQ(timers.earliest(), 500);  // b fired once and is disarmed
    timers.destroy(a);
    EXPECT_FALSE(timers.earliest());
    EXPECT_EQ(timers.size(), 1u);
}

TEST(GuestFrameQueue, IsBoundedInFramesAndBytes) {
    GuestFrameQueue by_frames(2, 1000);
    const std::vector<uint8_t> frame(100, 1);
    EXPECT_TRUE(by_frames.push(frame));
    EXPECT_TRUE(by_frames.push(frame));
    EXPECT_FALSE(by_frames.push(frame));
    EXPECT_EQ(by_frames.bytes(), 200u);
    EXPECT_EQ(by_frames.pop(), frame);
    EXPECT_TRUE(by_frames.push(frame));

    GuestFrameQueue by_bytes(10, 250);
    EXPECT_TRUE(by_bytes.push(frame));
    EXPECT_TRUE(by_bytes.push(frame));
    EXPECT_FALSE(by_bytes.push(frame));
    EXPECT_TRUE(by_bytes.push(std::vector<uint8_t>(50, 2)));
    EXPECT_EQ(by_bytes.frames(), 3u);
    while (by_bytes.pop()) {
    }
    EXPECT_TRUE(by_bytes.empty());
    EXPECT_EQ(by_bytes.bytes(), 0u);
}

std::string ipv4_text(in_addr address) {
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &address, text, sizeof text);
    return text;
}

std::string ipv6_text(const in6_addr& address) {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET6, &address, text, sizeof text);
    return text;
}

TEST(SlirpConfig, HasQemusDefaults) {
    const SlirpConfig config = make_slirp_config(UserNetConfig{});
    EXPECT_EQ(config.version, 4u);
    EXPECT_EQ(config.restricted, 0);
    EXPECT_TRUE(config.in_enabled);
    EXPECT_EQ(ipv4_text(config.vnetwork), "10.0.2.0");
    EXPECT_EQ(ipv4_text(config.vnetmask), "255.255.255.0");
    EXPECT_EQ(ipv4_text(config.vhost), "10.0.2.2");
    EXPECT_EQ(ipv4_text(config.vdhcp_start), "10.0.2.15");
    EXPECT_EQ(ipv4_text(config.vnameserver), "10.0.2.3");
    EXPECT_TRUE(config.in6_enabled);
    EXPECT_EQ(ipv6_text(config.vprefix_addr6), "fec0::");
    EXPECT_EQ(config.vprefix_len, 64);
    EXPECT_EQ(ipv6_text(config.vhost6), "fec0::2");
    EXPECT_EQ(ipv6_text(config.vnameserver6), "fec0::3");
    EXPECT_FALSE(config.disable_host_loopback);
    EXPECT_FALSE(config.disable_dhcp);
    EXPECT_FALSE(config.disable_dns);
}

TEST(SlirpConfig, FollowsTheOptions) {
    UserNetConfig options;
    ASSERT_TRUE(apply_user_net_option(options, "net", "192.168.100.0/22"));
    ASSERT_TRUE(apply_user_net_option(options, "dns", "192.168.100.53"));
    ASSERT_TRUE(apply_user_net_option(options, "restrict", "on"));
    ASSERT_TRUE(apply_user_net_option(options, "ipv6", "off"));
    const SlirpConfig config = make_slirp_config(options);
    EXPECT_EQ(config.restricted, 1);
    EXPECT_FALSE(config.in6_enabled);
    EXPECT_EQ(ipv4_text(config.vnetwork), "192.168.100.0");
    EXPECT_EQ(ipv4_text(config.vnetmask), "255.255.252.0");
    EXPECT_EQ(ipv4_text(config.vhost), "192.168.100.2");
    EXPECT_EQ(ipv4_text(config.vdhcp_start), "192.168.100.15");
    EXPECT_EQ(ipv4_text(config.vnameserver), "192.168.100.53");
    EXPECT_EQ(describe_user_net(options), "user 192.168.100.0/22 (NAT, restrict=on, ipv6=off)");
}

TEST(SlirpConfig, ForwardAddressesFillInQemusDefaults) {
    UserNetConfig options;
    ASSERT_TRUE(apply_user_net_option(options, "hostfwd", "tcp::8080-:80"));
    ASSERT_TRUE(apply_user_net_option(options, "hostfwd", "udp:127.0.0.1:5353-10.0.2.20:53"));
    EXPECT_EQ(
        describe_user_net(options),
        "user 10.0.2.0/24 (NAT, hostfwd tcp::8080-:80, hostfwd udp:127.0.0.1:5353-10.0.2.20:53)");

    const auto any = forward_addresses(options, options.forwards[0]);
    ASSERT_TRUE(any) << any.error().message;
    ASSERT_EQ(any->host_length, sizeof(sockaddr_in));
    const auto* host = reinterpret_cast<const sockaddr_in*>(&any->host);
    EXPECT_EQ(host->sin_family, AF_INET);
    EXPECT_EQ(ntohs(host->sin_port), 8080);
    EXPECT_EQ(host->sin_addr.s_addr, htonl(INADDR_ANY));
    ASSERT_EQ(any->guest_length, sizeof(sockaddr_in));
    const auto* guest = reinterpret_cast<const sockaddr_in*>(&any->guest);
    EXPECT_EQ(ipv4_text(guest->sin_addr), "10.0.2.15");
    EXPECT_EQ(ntohs(guest->sin_port), 80);
    EXPECT_EQ(any->flags, 0);

    const auto udp = forward_addresses(options, options.forwards[1]);
    ASSERT_TRUE(udp);
    EXPECT_EQ(ipv4_text(reinterpret_cast<const sockaddr_in*>(&udp->host)->sin_addr), "127.0.0.1");
    EXPECT_EQ(ipv4_text(reinterpret_cast<const sockaddr_in*>(&udp->guest)->sin_addr), "10.0.2.20");
    EXPECT_EQ(udp->flags, SLIRP_HOSTFWD_UDP);
}

TEST(SlirpConfig, AnIpv6HostAddressForwardsToTheGuestsIpv6Address) {
    UserNetConfig options;
    ASSERT_TRUE(apply_user_net_option(options, "hostfwd", "tcp:[::1]:2222-:22"));
    const auto v6 = forward_addresses(options, options.forwards[0]);
    ASSERT_TRUE(v6) << v6.error().message;
    ASSERT_EQ(v6->host_length, sizeof(sockaddr_in6));
    const auto* host = reinterpret_cast<const sockaddr_in6*>(&v6->host);
    EXPECT_EQ(host->sin6_family, AF_INET6);
    EXPECT_EQ(ntohs(host->sin6_port), 2222);
    EXPECT_EQ(ipv6_text(host->sin6_addr), "::1");
    // The guest's address is left to libslirp, which learns it from neighbour discovery.
    ASSERT_EQ(v6->guest_length, sizeof(sockaddr_in6));
    const auto* guest = reinterpret_cast<const sockaddr_in6*>(&v6->guest);
    EXPECT_EQ(guest->sin6_family, AF_INET6);
    EXPECT_EQ(ipv6_text(guest->sin6_addr), "::");
    EXPECT_EQ(ntohs(guest->sin6_port), 22);

    // libslirp cannot forward across families, nor to IPv6 with it off.
    UserNetConfig mixed;
    ASSERT_TRUE(apply_user_net_option(mixed, "hostfwd", "tcp:[::1]:2222-10.0.2.15:22"));
    const auto refused = forward_addresses(mixed, mixed.forwards[0]);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("hostfwd=tcp:[::1]:2222-10.0.2.15:22"),
              std::string::npos);
    options.ipv6 = false;
    const auto off = forward_addresses(options, options.forwards[0]);
    ASSERT_FALSE(off);
    EXPECT_NE(off.error().message.find("ipv6=on"), std::string::npos);
}

}  // namespace
}  // namespace hvmm::net
