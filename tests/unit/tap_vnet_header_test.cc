// A TAP opened for virtio-net (TapOptions::vnet_header): the header size forced to 12 even on
// a persistent TAP another user left at another size, frames carrying the header both ways,
// and the receive offloads following set_receive_offloads(). Like tap_backend_test.cc these need
// root and /dev/net/tun, and fail saying so without them: a missing prerequisite must not pass.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "devices/virtio/net/virtio_net.h"
#include "net/tap/tap_backend.h"
#include "net_test_sink.h"
#include "tap_test_support.h"
#include "virtio_mock_driver.h"

namespace hvmm {
namespace {

using testing::RecordingSink;
using testing::request_for;
using testing::test_frame;

constexpr int kGuardMilliseconds = 5000;

std::string unique_tap_name() {
    return testing::unique_tap_name("hvmmv");
}

// An ethtool "get" command's value for the interface (ETHTOOL_GTXCSUM, ETHTOOL_GTSO).
int read_ethtool(const std::string& name, uint32_t command) {
    const int control = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ethtool_value value {
        .cmd = command, .data = 0
    };
    ifreq request = request_for(name);
    request.ifr_data = reinterpret_cast<char*>(&value);
    const int result = ::ioctl(control, SIOCETHTOOL, &request);
    ::close(control);
    EXPECT_EQ(result, 0) << std::strerror(errno);
    return static_cast<int>(value.data);
}

class TapVnetHeaderTest : public testing::TapTest {
  protected:
    std::unique_ptr<TapBackend> open_tap(const std::string& name, bool vnet_header = true) {
        auto backend = TapBackend::open(name, TapOptions{.vnet_header = vnet_header});
        EXPECT_TRUE(backend) << backend.error().message;
        return backend ? std::move(*backend) : nullptr;
    }
};

TEST_F(TapVnetHeaderTest, PersistentTapLeftAtAnotherHeaderSizeIsSetToTwelve) {
    const std::string name = unique_tap_name();
    {
        // An earlier user: makes the TAP persistent with a 20-byte vnet header.
        const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        ifreq request = request_for(name);
        request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        ASSERT_EQ(::ioctl(fd, TUNSETIFF, &request), 0) << std::strerror(errno);
        int size = 20;
        ASSERT_EQ(::ioctl(fd, TUNSETVNETHDRSZ, &size), 0) << std::strerror(errno);
        ASSERT_EQ(::ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4), 0) << std::strerror(errno);
        ASSERT_EQ(::ioctl(fd, TUNSETPERSIST, 1), 0);
        ::close(fd);
    }
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    EXPECT_EQ(backend->vnet_header_size(), 12u);
    int size = 0;
    ASSERT_EQ(::ioctl(backend->receive_fd(), TUNGETVNETHDRSZ, &size), 0);
    EXPECT_EQ(size, 12);
    ifreq flags{};
    ASSERT_EQ(::ioctl(backend->receive_fd(), TUNGETIFF, &flags), 0);
    EXPECT_TRUE(flags.ifr_flags & IFF_VNET_HDR);
    EXPECT_EQ(read_ethtool(name, ETHTOOL_GTSO), 0) << "the earlier user's offloads are cleared";
    // Clean up: persistence off deletes it once the backend's fd closes.
    const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    backend.reset();
    ifreq request = request_for(name);
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
    ASSERT_EQ(::ioctl(fd, TUNSETIFF, &request), 0) << std::strerror(errno);
    ASSERT_EQ(::ioctl(fd, TUNSETPERSIST, 0), 0);
    ::close(fd);
}

TEST_F(TapVnetHeaderTest, FramesCarryTheHeaderBothWays) {
    const std::string name = unique_tap_name();
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    RecordingSink sink;
    backend->set_sink(&sink);
    const int packet = packet_socket(name);

    // Out: header then frame; the host sees the frame alone.
    const auto frame = test_frame(0x6B, 80);
    std::vector<uint8_t> with_header(12 + frame.size(), 0);
    std::copy(frame.begin(), frame.end(), with_header.begin() + 12);
    backend->send(std::span<const uint8_t>(with_header));
    bool seen = false;
    std::vector<uint8_t> buffer(2048);
    while (!seen) {
        pollfd entry{.fd = packet, .events = POLLIN, .revents = 0};
        if (::poll(&entry, 1, kGuardMilliseconds) <= 0)
            break;
        const ssize_t length = ::recv(packet, buffer.data(), buffer.size(), 0);
        ASSERT_GT(length, 0);
        seen = std::vector<uint8_t>(buffer.begin(), buffer.begin() + length) == frame;
    }
    EXPECT_TRUE(seen) << "the frame without its header did not appear on " << name;
    EXPECT_EQ(backend->stats().tx_bytes, frame.size()) << "Ethernet bytes, not the header";

    // In: the sink gets 12 header bytes, then the frame.
    const auto incoming = test_frame(0xB6, 90);
    ASSERT_EQ(::send(packet, incoming.data(), incoming.size(), 0),
              static_cast<ssize_t>(incoming.size()));
    ::close(packet);
    bool received = false;
    while (!received) {
        pollfd entry{.fd = backend->receive_fd(), .events = POLLIN, .revents = 0};
        if (::poll(&entry, 1, kGuardMilliseconds) <= 0)
            break;
        backend->poll_receive();
        for (const auto& got : sink.frames) {
            received = received || (got.size() == 12 + incoming.size() &&
                                    std::equal(incoming.begin(), incoming.end(), got.begin() + 12));
        }
    }
    EXPECT_TRUE(received) << "no frame with a 12-byte header reached the sink";
}

TEST_F(TapVnetHeaderTest, ReceiveOffloadsFollowWhatTheNicAsks) {
    const std::string name = unique_tap_name();
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    EXPECT_EQ(read_ethtool(name, ETHTOOL_GTSO), 0);
    ASSERT_TRUE(backend->set_receive_offloads(
        {.checksum = true, .tso4 = true, .tso6 = true, .tso_ecn = true}));
    // What the TAP may hand us is what its host side may send unfinished.
    EXPECT_NE(read_ethtool(name, ETHTOOL_GTXCSUM), 0);
    EXPECT_NE(read_ethtool(name, ETHTOOL_GTSO), 0);
    ASSERT_TRUE(backend->set_receive_offloads({}));
    EXPECT_EQ(read_ethtool(name, ETHTOOL_GTSO), 0);
    EXPECT_EQ(read_ethtool(name, ETHTOOL_GTXCSUM), 0);
}

TEST_F(TapVnetHeaderTest, PlainTapHasNoHeaderAndRefusesOffloads) {
    const std::string name = unique_tap_name();
    auto backend = open_tap(name, false);
    ASSERT_TRUE(backend);
    EXPECT_EQ(backend->vnet_header_size(), 0u);
    EXPECT_FALSE(backend->set_receive_offloads({.checksum = true}));
    ifreq flags{};
    ASSERT_EQ(::ioctl(backend->receive_fd(), TUNGETIFF, &flags), 0);
    EXPECT_FALSE(flags.ifr_flags & IFF_VNET_HDR);
}

class NullInterrupt final : public virtio::VirtioInterrupt {
  public:
    void signal_used(uint16_t) override {}
    void signal_config() override {}
    int call_fd(uint16_t) override { return -1; }
};

// The whole path on a real TAP: a guest's TSO frame goes out with its header, a host frame comes
// in with one, and the offloads the guest accepted become the TAP's.
TEST_F(TapVnetHeaderTest, VirtioNetOverAVnetTapPassesHeadersAndSetsOffloads) {
    namespace ns = virtio::net_spec;
    using virtio::testing::MockDriver;
    using virtio::testing::queue_layout;
    const std::string name = unique_tap_name();
    auto backend = open_tap(name);
    ASSERT_TRUE(backend);
    auto loop = std::move(*EventLoop::create());
    auto created = virtio::VirtioNet::create(*backend, *loop, {.mac = {{0x52, 0x54, 0, 9, 9, 9}}});
    ASSERT_TRUE(created.has_value()) << created.error().message;
    virtio::VirtioNet& net = **created;
    ASSERT_EQ(net.device_features() & ns::kOffloadFeatures, ns::kOffloadFeatures);

    GuestMemory memory = virtio::testing::make_test_memory();
    MockDriver rx(memory, 256, queue_layout(0)), tx(memory, 256, queue_layout(1));
    virtio::SplitQueue rx_queue(memory), tx_queue(memory);
    ASSERT_TRUE(rx_queue.activate(rx.config(true, true)));
    ASSERT_TRUE(tx_queue.activate(tx.config(true, true)));
    auto rx_kick = std::move(*EventFd::create());
    auto tx_kick = std::move(*EventFd::create());
    std::array<virtio::SplitQueue*, 2> queues{&rx_queue, &tx_queue};
    std::array<int, 2> kicks{rx_kick.fd(), tx_kick.fd()};
    NullInterrupt interrupt;
    const uint64_t features =
        net.device_features() &
        ~(ns::kCtrlVq | ns::kCtrlRx | ns::kCtrlRxExtra | ns::kCtrlMacAddr | ns::kNotfCoal);
    ASSERT_TRUE(net.accept_features(features));
    net.activate({memory, queues, kicks, features, interrupt});
    EXPECT_NE(read_ethtool(name, ETHTOOL_GTSO), 0) << "GUEST_TSO4/6 became TUNSETOFFLOAD";

    // Guest to host: a frame whose header asks the host to fill in the checksum.
    const int packet = packet_socket(name);
    auto frame = test_frame(0x3C, 100);
    frame[12] = 0x08, frame[13] = 0x00;  // IPv4 with a UDP header for the checksum's place
    frame[14] = 0x45, frame[23] = 17;
    const ns::NetHeader header{ns::kHeaderNeedsCsum, ns::kGsoNone, 0, 0, 34, 6, 0};
    const uint64_t at = tx.alloc(12 + frame.size());
    tx.put(at, header);
    tx.fill(at + 12, frame);
    tx.add_chain({{at, static_cast<uint32_t>(12 + frame.size())}});
    net.service_queue(ns::kTxQueue);
    EXPECT_EQ(net.counters().tx_frames, 1u);
    EXPECT_EQ(backend->stats().tx_frames, 1u) << "the TAP took the frame and its header";

    // Host to guest: the frame arrives after a 12-byte header with num_buffers 1.
    const uint64_t buffer = rx.alloc(4096);
    rx.add_chain({{buffer, 4096, true}});
    net.service_queue(ns::kRxQueue);
    const auto incoming = test_frame(0xC3, 90);
    ASSERT_EQ(::send(packet, incoming.data(), incoming.size(), 0),
              static_cast<ssize_t>(incoming.size()));
    ::close(packet);
    bool received = false;
    while (!received) {
        pollfd entry{.fd = backend->receive_fd(), .events = POLLIN, .revents = 0};
        if (::poll(&entry, 1, kGuardMilliseconds) <= 0)
            break;
        net.service_backend();
        received = rx.used_idx() > 0 && rx.bytes(buffer + 12, incoming.size()) == incoming;
        if (rx.used_idx() > 0 && !received) {  // the host's own frame got there first
            rx.add_chain({{buffer, 4096, true}});
            net.service_queue(ns::kRxQueue);
        }
    }
    EXPECT_TRUE(received);
    EXPECT_EQ(rx.get<ns::NetHeader>(buffer).num_buffers, 1);
    net.reset();
    EXPECT_EQ(read_ethtool(name, ETHTOOL_GTSO), 0) << "reset takes the offloads back";
}

}  // namespace
}  // namespace hvmm
