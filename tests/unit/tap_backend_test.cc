// These tests make real TAP interfaces, so they need root and /dev/net/tun. Without them they
// fail with a message saying so: a missing prerequisite must not pass silently.
#include "net/tap/tap_backend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cstring>
#include <map>

#include "net_test_sink.h"
#include "tap_test_support.h"

namespace hvmm {
namespace {

using testing::RecordingSink;
using testing::request_for;
using testing::test_frame;

// A guard against hanging forever if a frame never comes; no assertion depends on timing.
constexpr int kGuardMilliseconds = 5000;

std::string unique_tap_name() {
    return testing::unique_tap_name("hvmmt");
}

bool interface_exists(const std::string& name) {
    return ::if_nametoindex(name.c_str()) != 0;
}

bool admin_up(const std::string& name) {
    const int control = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq request = request_for(name);
    const bool ok = ::ioctl(control, SIOCGIFFLAGS, &request) == 0;
    ::close(control);
    return ok && (request.ifr_flags & IFF_UP) != 0;
}

void set_admin_up(const std::string& name, bool up) {
    const int control = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq request = request_for(name);
    ASSERT_EQ(::ioctl(control, SIOCGIFFLAGS, &request), 0) << std::strerror(errno);
    request.ifr_flags = up ? (request.ifr_flags | IFF_UP) : (request.ifr_flags & ~IFF_UP);
    ASSERT_EQ(::ioctl(control, SIOCSIFFLAGS, &request), 0) << std::strerror(errno);
    ::close(control);
}

// Makes or removes a persistent TAP the way `ip tuntap add/del` does.
void set_persistent_tap(const std::string& name, bool persistent) {
    const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ifreq request = request_for(name);
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
    ASSERT_EQ(::ioctl(fd, TUNSETIFF, &request), 0) << std::strerror(errno);
    ASSERT_EQ(::ioctl(fd, TUNSETPERSIST, persistent ? 1 : 0), 0) << std::strerror(errno);
    ::close(fd);
}

class TapBackendTest : public testing::TapTest {
  protected:
    std::unique_ptr<TapBackend> open_tap(const std::string& name) {
        auto backend = TapBackend::open(name);
        EXPECT_TRUE(backend) << backend.error().message;
        return backend ? std::move(*backend) : nullptr;
    }
};

TEST_F(TapBackendTest, MissingTapIsCreatedUpAndVanishesWhenClosed) {
    const std::string name = unique_tap_name();
    ASSERT_FALSE(interface_exists(name));
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    EXPECT_TRUE(backend->created());
    EXPECT_TRUE(interface_exists(name));
    EXPECT_TRUE(admin_up(name));
    EXPECT_TRUE(backend->link_up());
    EXPECT_EQ(backend->describe(), "tap:" + name + " (created)");
    backend.reset();
    EXPECT_FALSE(interface_exists(name));
}

TEST_F(TapBackendTest, ExistingPersistentTapIsAttachedAndLeftAsFound) {
    const std::string name = unique_tap_name();
    set_persistent_tap(name, true);
    ASSERT_TRUE(interface_exists(name));
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    EXPECT_FALSE(backend->created());
    EXPECT_FALSE(admin_up(name)) << "hvmm brings up only a TAP it created";
    EXPECT_FALSE(backend->link_up());
    backend.reset();
    EXPECT_TRUE(interface_exists(name));
    set_persistent_tap(name, false);
    EXPECT_FALSE(interface_exists(name));
}

TEST_F(TapBackendTest, SinkOfADownTapHearsTheLinkIsDownAtTheFirstRefresh) {
    const std::string name = unique_tap_name();
    set_persistent_tap(name, true);
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    RecordingSink sink;
    backend->set_sink(&sink);
    EXPECT_TRUE(sink.link_changes.empty()) << "set_sink does not call back";
    backend->refresh_link();
    backend->refresh_link();
    EXPECT_EQ(sink.link_changes, std::vector<bool>{false});
    backend.reset();
    set_persistent_tap(name, false);
}

TEST_F(TapBackendTest, FrameSentByBackendIsSeenOnTheHostInterface) {
    const std::string name = unique_tap_name();
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    const int packet = packet_socket(name);
    const auto frame = test_frame(0x5A, 64);
    backend->send(std::span<const uint8_t>(frame));
    EXPECT_EQ(backend->stats().tx_frames, 1u);

    // The host may put its own frames (IPv6 neighbour discovery) on a new interface: look
    // for ours among them.
    bool seen = false;
    std::vector<uint8_t> buffer(2048);
    while (!seen) {
        pollfd entry{.fd = packet, .events = POLLIN, .revents = 0};
        if (::poll(&entry, 1, kGuardMilliseconds) <= 0) {
            break;
        }
        const ssize_t length = ::recv(packet, buffer.data(), buffer.size(), 0);
        ASSERT_GT(length, 0);
        seen = std::vector<uint8_t>(buffer.begin(), buffer.begin() + length) == frame;
    }
    ::close(packet);
    EXPECT_TRUE(seen) << "the frame did not appear on " << name;
}

TEST_F(TapBackendTest, FrameSentOnTheHostInterfaceReachesTheSink) {
    const std::string name = unique_tap_name();
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    RecordingSink sink;
    backend->set_sink(&sink);
    const int packet = packet_socket(name);
    const auto frame = test_frame(0xA5, 64);
    ASSERT_EQ(::send(packet, frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()))
        << std::strerror(errno);
    ::close(packet);

    bool seen = false;
    while (!seen) {
        pollfd entry{.fd = backend->receive_fd(), .events = POLLIN, .revents = 0};
        if (::poll(&entry, 1, kGuardMilliseconds) <= 0) {
            break;
        }
        backend->poll_receive();
        for (const auto& received : sink.frames) {
            seen = seen || received == frame;
        }
    }
    EXPECT_TRUE(seen) << "the frame injected on " << name << " never reached the sink";
    EXPECT_GE(backend->stats().rx_frames, 1u);
}

TEST_F(TapBackendTest, LinkFollowsTheInterfaceAdminState) {
    const std::string name = unique_tap_name();
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    RecordingSink sink;
    backend->set_sink(&sink);
    ASSERT_TRUE(backend->link_up());

    set_admin_up(name, false);
    backend->refresh_link();
    EXPECT_FALSE(backend->link_up());
    backend->refresh_link();  // no change, no second report
    set_admin_up(name, true);
    backend->refresh_link();
    EXPECT_TRUE(backend->link_up());
    EXPECT_EQ(sink.link_changes, (std::vector<bool>{false, true}));
}

TEST_F(TapBackendTest, SendWhileInterfaceIsDownIsDroppedAndCounted) {
    const std::string name = unique_tap_name();
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    set_admin_up(name, false);
    backend->send(std::span<const uint8_t>(test_frame(1)));
    EXPECT_EQ(backend->stats().tx_dropped, 1u);
    EXPECT_EQ(backend->stats().tx_frames, 0u);
    // By cause, as --stats shows it (net0.tx_link_down).
    std::map<std::string_view, uint64_t> counts;
    for (const NamedCount& count : backend->named_counts()) counts[count.name] = count.value;
    EXPECT_EQ(counts.at("tx_dropped"), 1u);
    EXPECT_EQ(counts.at("tx_link_down"), 1u);
    EXPECT_EQ(counts.at("tx_host_busy"), 0u);
    EXPECT_EQ(counts.at("tx_detached"), 0u);
}

TEST_F(TapBackendTest, TapDeletedUnderTheBackendTakesTheLinkDownNotTheProcess) {
    const std::string name = unique_tap_name();
    set_persistent_tap(name, true);
    set_admin_up(name, true);
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    RecordingSink sink;
    backend->set_sink(&sink);
    ASSERT_TRUE(backend->link_up());
    // Dropping persistence with the backend attached: the interface goes when the backend's
    // fd closes, so delete it the way `ip link del` does instead.
    ASSERT_EQ(std::system(fmt::format("ip link del {}", name).c_str()), 0);
    ASSERT_FALSE(interface_exists(name));

    backend->send(std::span<const uint8_t>(test_frame(2)));
    EXPECT_EQ(backend->stats().tx_dropped, 1u);
    backend->poll_receive();
    backend->refresh_link();
    EXPECT_FALSE(backend->link_up());
    EXPECT_EQ(sink.link_changes, std::vector<bool>{false});
    // A deleted TAP's fd would report an error to poll forever; the loop must not spin on it.
    pollfd entry{.fd = backend->receive_fd(), .events = POLLIN, .revents = 0};
    EXPECT_EQ(::poll(&entry, 1, 0), 0) << "revents " << entry.revents;
}

TEST_F(TapBackendTest, RenamedTapKeepsFollowingItsAdminState) {
    const std::string name = unique_tap_name();
    const std::string renamed = unique_tap_name();
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    set_admin_up(name, false);  // a renamed interface must be down
    ASSERT_EQ(std::system(fmt::format("ip link set {} name {}", name, renamed).c_str()), 0);
    set_admin_up(renamed, true);
    backend->refresh_link();
    EXPECT_TRUE(backend->link_up());
    set_admin_up(renamed, false);
    backend->refresh_link();
    EXPECT_FALSE(backend->link_up());
    backend.reset();
    EXPECT_FALSE(interface_exists(renamed));
}

TEST_F(TapBackendTest, OverlongNameIsRefusedBeforeTouchingTheKernel) {
    auto backend = TapBackend::open("a-name-far-too-long-for-linux");
    ASSERT_FALSE(backend);
    EXPECT_NE(backend.error().message.find("1 to 15 characters"), std::string::npos);
}

TEST_F(TapBackendTest, NonTapInterfaceIsRefusedWithAHint) {
    auto backend = TapBackend::open("lo");
    ASSERT_FALSE(backend);
    EXPECT_NE(backend.error().message.find("'lo'"), std::string::npos) << backend.error().message;
    EXPECT_NE(backend.error().message.find("TAP"), std::string::npos) << backend.error().message;
}

TEST_F(TapBackendTest, TapHeldByAnotherOpenerIsRefused) {
    const std::string name = unique_tap_name();
    auto first = open_tap(name);
    ASSERT_TRUE(first);
    auto second = TapBackend::open(name);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("another process"), std::string::npos)
        << second.error().message;
}

}  // namespace
}  // namespace hvmm
