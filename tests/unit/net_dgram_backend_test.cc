// DgramBackend against real Unix datagram sockets in a temporary directory, driven by a real
// EventLoop as the NIC wiring drives it.
#include "net/socket/dgram_backend.h"

#include <gtest/gtest.h>

#include <fstream>

#include "net_socket_test_peer.h"
#include "net_test_sink.h"

namespace hvmm {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::LoopRig;
using testing::SharedSink;
using testing::TempDir;
using testing::test_frame;

struct DgramPair {
    TempDir dir;
    std::string local = dir.file("hvmm.sock");
    std::string remote = dir.file("peer.sock");
};

void send_to(int fd, const std::string& path, std::span<const uint8_t> bytes) {
    const sockaddr_un address = testing::unix_sockaddr(path);
    ASSERT_EQ(::sendto(fd, bytes.data(), bytes.size(), 0,
                       reinterpret_cast<const sockaddr*>(&address), sizeof address),
              static_cast<ssize_t>(bytes.size()))
        << std::strerror(errno);
}

std::optional<std::vector<uint8_t>> receive_datagram(int fd) {
    if (!testing::wait_readable(fd, 5000ms)) {
        return std::nullopt;
    }
    std::vector<uint8_t> bytes(net::kMaxFrameSize + 1);
    const ssize_t n = ::recv(fd, bytes.data(), bytes.size(), 0);
    if (n < 0) {
        return std::nullopt;
    }
    bytes.resize(static_cast<size_t>(n));
    return bytes;
}

TEST(NetDgramBackend, OneFramePerDatagramBothWays) {
    DgramPair paths;
    UniqueFd peer = testing::bind_at(paths.remote, SOCK_DGRAM);
    auto backend = DgramBackend::open(paths.local, paths.remote);
    ASSERT_TRUE(backend) << backend.error().message;
    EXPECT_EQ((*backend)->describe(), "dgram:" + paths.local + "," + paths.remote);
    SharedSink sink;
    LoopRig rig(**backend, sink);

    send_to(peer.get(), paths.local, test_frame(1, 60));
    send_to(peer.get(), paths.local, test_frame(2, net::kMaxFrameSize));
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 2; }));
    EXPECT_EQ(sink.frames()[0], test_frame(1, 60));
    EXPECT_EQ(sink.frames()[1], test_frame(2, net::kMaxFrameSize));

    const auto frame = test_frame(3, 1514);
    const std::array<iovec, 2> parts{iovec{const_cast<uint8_t*>(frame.data()), 100},
                                     iovec{const_cast<uint8_t*>(frame.data()) + 100, 1414}};
    (*backend)->send(std::span<const iovec>(parts));
    EXPECT_EQ(receive_datagram(peer.get()), frame);

    const auto stats = (*backend)->dgram_stats();
    EXPECT_EQ(stats.totals.rx_frames, 2u);
    EXPECT_EQ(stats.totals.tx_frames, 1u);
    EXPECT_EQ(stats.totals.tx_bytes, 1514u);
    EXPECT_TRUE((*backend)->link_up());
    EXPECT_TRUE(sink.links().empty());
}

TEST(NetDgramBackend, OversizeEmptyAndRuntDatagramsAreDroppedAndCounted) {
    DgramPair paths;
    UniqueFd peer = testing::bind_at(paths.remote, SOCK_DGRAM);
    auto backend = DgramBackend::open(paths.local, paths.remote);
    ASSERT_TRUE(backend) << backend.error().message;
    SharedSink sink;
    LoopRig rig(**backend, sink);

    send_to(peer.get(), paths.local, test_frame(1, net::kMaxFrameSize + 1));
    send_to(peer.get(), paths.local, {});
    send_to(peer.get(), paths.local, std::vector<uint8_t>(13, 0xAA));
    send_to(peer.get(), paths.local, test_frame(2));
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 1; }));
    EXPECT_EQ(sink.frames()[0], test_frame(2));
    const auto stats = (*backend)->dgram_stats();
    EXPECT_EQ(stats.rx_oversize, 1u);
    EXPECT_EQ(stats.rx_zero_length, 1u);
    EXPECT_EQ(stats.rx_runts, 1u);
    EXPECT_EQ(stats.totals.rx_dropped, 3u);
    EXPECT_TRUE((*backend)->link_up());
}

TEST(NetDgramBackend, NoPeerDropsTheFrameAndTheLinkStaysUp) {
    DgramPair paths;
    auto backend = DgramBackend::open(paths.local, paths.remote);
    ASSERT_TRUE(backend) << backend.error().message;
    for (int i = 0; i < 100; ++i) {
        (*backend)->send(std::span<const uint8_t>(test_frame(1)));  // ENOENT
    }
    testing::bind_at(paths.remote, SOCK_DGRAM);  // a socket file with nobody behind it
    (*backend)->send(std::span<const uint8_t>(test_frame(2)));  // ECONNREFUSED
    const auto stats = (*backend)->dgram_stats();
    EXPECT_EQ(stats.tx_no_peer, 101u);
    EXPECT_EQ(stats.totals.tx_dropped, 101u);
    EXPECT_TRUE((*backend)->link_up());

    // The peer comes up: frames flow with nothing to reconnect.
    ::unlink(paths.remote.c_str());
    UniqueFd peer = testing::bind_at(paths.remote, SOCK_DGRAM);
    (*backend)->send(std::span<const uint8_t>(test_frame(3)));
    EXPECT_EQ(receive_datagram(peer.get()), test_frame(3));
}

TEST(NetDgramBackend, FullSinkLeavesDatagramsQueuedUntilResumed) {
    DgramPair paths;
    UniqueFd peer = testing::bind_at(paths.remote, SOCK_DGRAM);
    auto backend = DgramBackend::open(paths.local, paths.remote);
    ASSERT_TRUE(backend) << backend.error().message;
    SharedSink sink;
    sink.set_accepting(false);
    LoopRig rig(**backend, sink);
    for (int i = 0; i < 10; ++i) send_to(peer.get(), paths.local, test_frame(i));
    std::this_thread::sleep_for(100ms);
    const uint64_t before = rig.wakeups();
    std::this_thread::sleep_for(200ms);
    EXPECT_LE(rig.wakeups() - before, 1u);
    EXPECT_EQ(sink.frame_count(), 0u);
    sink.set_accepting(true);
    rig.resume();
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 10; }));
    EXPECT_EQ((*backend)->stats().rx_dropped, 0u);
}

TEST(NetDgramBackend, FrameTooLongToSendIsCountedNotSent) {
    DgramPair paths;
    auto backend = DgramBackend::open(paths.local, paths.remote, 1514);
    ASSERT_TRUE(backend) << backend.error().message;
    (*backend)->send(std::span<const uint8_t>(test_frame(1, 1515)));
    EXPECT_EQ((*backend)->dgram_stats().tx_invalid, 1u);
}

TEST(NetDgramBackend, LocalPathThatIsNotASocketIsRefusedAndAStaleOneReplaced) {
    DgramPair paths;
    std::ofstream(paths.local) << "a file";
    auto refused = DgramBackend::open(paths.local, paths.remote);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("is not a socket"), std::string::npos)
        << refused.error().message;

    ::unlink(paths.local.c_str());
    testing::bind_at(paths.local, SOCK_DGRAM);  // bound and closed: stale
    auto backend = DgramBackend::open(paths.local, paths.remote);
    ASSERT_TRUE(backend) << backend.error().message;
    backend->reset();
    EXPECT_NE(::access(paths.local.c_str(), F_OK), 0);  // removed at close
}

TEST(NetDgramBackend, LocalPathInUseIsRefused) {
    DgramPair paths;
    UniqueFd live = testing::bind_at(paths.local, SOCK_DGRAM);
    const auto backend = DgramBackend::open(paths.local, paths.remote);
    ASSERT_FALSE(backend);
    EXPECT_NE(backend.error().message.find("in use"), std::string::npos) << backend.error().message;
}

TEST(NetDgramBackend, RemoteThatIsNotASocketIsRefused) {
    DgramPair paths;
    std::ofstream(paths.remote) << "a file";
    const auto backend = DgramBackend::open(paths.local, paths.remote);
    ASSERT_FALSE(backend);
    EXPECT_NE(backend.error().message.find("is not a socket"), std::string::npos);
}

}  // namespace
}  // namespace hvmm
