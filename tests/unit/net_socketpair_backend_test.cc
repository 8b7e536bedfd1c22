#include "net/socketpair/socketpair_backend.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>

#include "net/frame_limits.h"
#include "net_test_sink.h"

namespace hvmm {
namespace {

using testing::RecordingSink;
using testing::test_frame;

std::unique_ptr<SocketpairBackend> make_backend() {
    auto backend = SocketpairBackend::create();
    EXPECT_TRUE(backend) << backend.error().message;
    return std::move(*backend);
}

void peer_send(int fd, const std::vector<uint8_t>& frame) {
    ASSERT_EQ(::send(fd, frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()));
}

TEST(NetSocketpairBackend, GatheredFrameArrivesAsOneMessage) {
    auto backend = make_backend();
    const auto frame = test_frame(7, 100);
    const std::array<iovec, 2> parts{iovec{const_cast<uint8_t*>(frame.data()), 40},
                                     iovec{const_cast<uint8_t*>(frame.data()) + 40, 60}};
    backend->send(std::span<const iovec>(parts));
    std::vector<uint8_t> received(200);
    const ssize_t length =
        ::recv(backend->peer_fd(), received.data(), received.size(), MSG_DONTWAIT);
    ASSERT_EQ(length, 100);
    received.resize(100);
    EXPECT_EQ(received, frame);
    EXPECT_EQ(backend->stats().tx_frames, 1u);
    EXPECT_EQ(backend->stats().tx_bytes, 100u);
}

TEST(NetSocketpairBackend, PeerFramesReachTheSinkWithBoundariesKept) {
    auto backend = make_backend();
    RecordingSink sink;
    backend->set_sink(&sink);
    peer_send(backend->peer_fd(), test_frame(1, 60));
    peer_send(backend->peer_fd(), test_frame(2, 1514));
    EXPECT_EQ(backend->poll_receive(), 2u);
    ASSERT_EQ(sink.frames.size(), 2u);
    EXPECT_EQ(sink.frames[0], test_frame(1, 60));
    EXPECT_EQ(sink.frames[1], test_frame(2, 1514));
    EXPECT_EQ(backend->stats().rx_frames, 2u);
    EXPECT_EQ(backend->stats().rx_bytes, 1574u);
    EXPECT_EQ(backend->poll_receive(), 0u);
}

TEST(NetSocketpairBackend, FullSinkKeepsTheFrameUntilItHasRoom) {
    auto backend = make_backend();
    RecordingSink sink;
    sink.accepting = false;
    backend->set_sink(&sink);
    peer_send(backend->peer_fd(), test_frame(3));
    EXPECT_EQ(backend->poll_receive(), 0u);
    EXPECT_TRUE(sink.frames.empty());
    EXPECT_EQ(backend->stats().rx_dropped, 0u);

    sink.accepting = true;
    EXPECT_EQ(backend->poll_receive(), 1u);
    ASSERT_EQ(sink.frames.size(), 1u);
    EXPECT_EQ(sink.frames[0], test_frame(3));
}

TEST(NetSocketpairBackend, OnePollDeliversAtMostTheBound) {
    auto backend = make_backend();
    RecordingSink sink;
    backend->set_sink(&sink);
    const size_t total = net::kMaxFramesPerPoll + 6;
    for (size_t i = 0; i < total; ++i) {
        peer_send(backend->peer_fd(), test_frame(static_cast<uint8_t>(i)));
    }
    EXPECT_EQ(backend->poll_receive(), net::kMaxFramesPerPoll);
    EXPECT_EQ(backend->poll_receive(), 6u);
    EXPECT_EQ(sink.frames.size(), total);
    EXPECT_EQ(sink.frames.back(), test_frame(static_cast<uint8_t>(total - 1)));
}

TEST(NetSocketpairBackend, RuntFramesAreDroppedAndCounted) {
    auto backend = make_backend();
    RecordingSink sink;
    backend->set_sink(&sink);
    peer_send(backend->peer_fd(), std::vector<uint8_t>(10, 0xAA));
    peer_send(backend->peer_fd(), test_frame(4));
    EXPECT_EQ(backend->poll_receive(), 1u);
    ASSERT_EQ(sink.frames.size(), 1u);
    EXPECT_EQ(backend->stats().rx_dropped, 1u);
}

TEST(NetSocketpairBackend, FramesWithoutASinkAreDrainedAndCounted) {
    auto backend = make_backend();
    peer_send(backend->peer_fd(), test_frame(5));
    EXPECT_EQ(backend->poll_receive(), 0u);
    EXPECT_EQ(backend->stats().rx_dropped, 1u);
}

TEST(NetSocketpairBackend, FullPeerDropsAndCountsInsteadOfBlocking) {
    auto backend = make_backend();
    const auto frame = test_frame(6, 1514);
    // The peer never reads: the socket's buffer fills and further sends are dropped.
    for (int i = 0; i < 10000 && backend->stats().tx_dropped == 0; ++i) {
        backend->send(std::span<const uint8_t>(frame));
    }
    EXPECT_GT(backend->stats().tx_dropped, 0u);
    EXPECT_TRUE(backend->link_up()) << "a slow peer is not a dead link";
}

TEST(NetSocketpairBackend, ClosedPeerTakesTheLinkDownAndTellsTheSink) {
    auto backend = make_backend();
    RecordingSink sink;
    backend->set_sink(&sink);
    EXPECT_TRUE(backend->link_up());
    backend->take_peer().reset();
    backend->send(std::span<const uint8_t>(test_frame(8)));
    EXPECT_EQ(backend->stats().tx_dropped, 1u);
    EXPECT_TRUE(sink.link_changes.empty()) << "send never calls back into the NIC";
    backend->poll_receive();
    EXPECT_FALSE(backend->link_up());
    EXPECT_EQ(sink.link_changes, std::vector<bool>{false});
}

TEST(NetSocketpairBackend, ClosedPeerStopsWakingTheEventLoop) {
    auto backend = make_backend();
    backend->take_peer().reset();
    pollfd entry{.fd = backend->receive_fd(), .events = POLLIN, .revents = 0};
    ASSERT_EQ(::poll(&entry, 1, 0), 1) << "a hung-up socket is always ready";
    backend->refresh_link();
    EXPECT_FALSE(backend->link_up());
    entry.revents = 0;
    EXPECT_EQ(::poll(&entry, 1, 0), 0) << "revents " << entry.revents;
    backend->send(std::span<const uint8_t>(test_frame(1)));
    EXPECT_EQ(backend->stats().tx_dropped, 1u);
}

}  // namespace
}  // namespace hvmm
