// StreamBackend against real Unix sockets in a temporary directory, driven by a real EventLoop
// as the NIC wiring drives it; the peer writes and reads QEMU's stream framing by hand.
#include "net/socket/stream_backend.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "net_socket_test_peer.h"
#include "net_test_sink.h"

namespace hvmm {
namespace {

using namespace std::chrono_literals;
using testing::accept_from;
using testing::connect_to;
using testing::eventually;
using testing::framed;
using testing::length_prefix;
using testing::LoopRig;
using testing::SharedSink;
using testing::TempDir;
using testing::test_frame;
using testing::write_all;

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> bytes;
    for (const auto& part : parts) bytes.insert(bytes.end(), part.begin(), part.end());
    return bytes;
}

std::unique_ptr<StreamBackend> listen_backend(const std::string& path,
                                              StreamBackendLimits limits = {}) {
    auto backend = StreamBackend::listen(path, limits);
    EXPECT_TRUE(backend) << backend.error().message;
    return backend ? std::move(*backend) : nullptr;
}

TEST(NetStreamBackend, ListenerCarriesFramesBothWaysAndSeveralPerWrite) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    SharedSink sink;
    LoopRig rig(*backend, sink);
    // No peer yet: the sink, which starts out assuming up, hears that the link is down.
    ASSERT_TRUE(eventually([&] { return !sink.link(); }));
    EXPECT_FALSE(backend->link_up());

    UniqueFd peer = connect_to(path);
    ASSERT_TRUE(peer);
    ASSERT_TRUE(eventually([&] { return sink.link(); }));
    EXPECT_EQ(sink.links(), (std::vector<bool>{false, true}));

    // Three frames in one write.
    write_all(peer.get(), concat({framed(test_frame(1, 60)), framed(test_frame(2, 1514)),
                                  framed(test_frame(3, 9000))}));
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 3; }));
    EXPECT_EQ(sink.frames()[0], test_frame(1, 60));
    EXPECT_EQ(sink.frames()[1], test_frame(2, 1514));
    EXPECT_EQ(sink.frames()[2], test_frame(3, 9000));

    // The other way, from a gather list.
    const auto frame = test_frame(4, 1000);
    const std::array<iovec, 2> parts{iovec{const_cast<uint8_t*>(frame.data()), 14},
                                     iovec{const_cast<uint8_t*>(frame.data()) + 14, 986}};
    backend->send(std::span<const iovec>(parts));
    const auto received = testing::read_framed(peer.get());
    ASSERT_TRUE(received);
    EXPECT_EQ(*received, frame);

    const auto stats = backend->stream_stats();
    EXPECT_EQ(stats.totals.rx_frames, 3u);
    EXPECT_EQ(stats.totals.rx_bytes, 60u + 1514u + 9000u);
    EXPECT_EQ(stats.totals.tx_frames, 1u);
    EXPECT_EQ(stats.totals.tx_bytes, 1000u);
    EXPECT_EQ(stats.connects, 1u);
}

TEST(NetStreamBackend, ClientConnectsToAListenerAndCarriesFrames) {
    TempDir dir;
    const std::string path = dir.file("peer.sock");
    UniqueFd listener = testing::listen_at(path);
    auto backend = StreamBackend::connect(path);
    ASSERT_TRUE(backend) << backend.error().message;
    UniqueFd peer = accept_from(listener.get());
    ASSERT_TRUE(peer);
    EXPECT_TRUE((*backend)->link_up());
    EXPECT_EQ((*backend)->describe(), "stream:" + path);

    SharedSink sink;
    LoopRig rig(**backend, sink);
    write_all(peer.get(), framed(test_frame(9, 100)));
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 1; }));
    EXPECT_EQ(sink.frames()[0], test_frame(9, 100));
    EXPECT_TRUE(sink.links().empty());  // up all along

    (*backend)->send(std::span<const uint8_t>(test_frame(10, 64)));
    EXPECT_EQ(testing::read_framed(peer.get()), test_frame(10, 64));
}

TEST(NetStreamBackend, FrameSplitAcrossWritesArrivesWhole) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    SharedSink sink;
    LoopRig rig(*backend, sink);
    UniqueFd peer = connect_to(path);
    ASSERT_TRUE(eventually([&] { return backend->link_up(); }));

    const auto bytes = concat({framed(test_frame(5, 1514)), framed(test_frame(6, 60))});
    // The prefix split 1+3, the body in uneven pieces, the second frame's prefix glued to the
    // end of the first frame's body: each write given time to be read on its own.
    const std::vector<size_t> cuts{1, 4, 100, 1000, 1517, 1520, bytes.size()};
    size_t at = 0;
    for (size_t cut : cuts) {
        write_all(peer.get(), std::span(bytes).subspan(at, cut - at));
        at = cut;
        std::this_thread::sleep_for(5ms);
        if (cut < 1518) {
            EXPECT_EQ(sink.frame_count(), 0u);
        }
    }
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 2; }));
    EXPECT_EQ(sink.frames()[0], test_frame(5, 1514));
    EXPECT_EQ(sink.frames()[1], test_frame(6, 60));
    EXPECT_EQ(backend->stats().rx_dropped, 0u);
}

struct BadPrefixCase {
    const char* name;
    uint32_t length;
    uint64_t StreamBackendStats::*counter;
};

class NetStreamBackendBadPrefix : public ::testing::TestWithParam<BadPrefixCase> {};

TEST_P(NetStreamBackendBadPrefix, ClosesTheConnectionCountsAndTheNextPeerBringsTheLinkBack) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    SharedSink sink;
    LoopRig rig(*backend, sink);
    UniqueFd peer = connect_to(path);
    ASSERT_TRUE(eventually([&] { return sink.link(); }));

    // A good frame first: it is delivered; everything after the bad prefix is not.
    write_all(peer.get(), concat({framed(test_frame(1)), length_prefix(GetParam().length),
                                  framed(test_frame(2))}));
    EXPECT_TRUE(testing::peer_closed(peer.get()));
    ASSERT_TRUE(eventually([&] { return !sink.link(); }));
    ASSERT_EQ(sink.frame_count(), 1u);
    EXPECT_EQ(sink.frames()[0], test_frame(1));
    auto stats = backend->stream_stats();
    EXPECT_EQ(stats.*GetParam().counter, 1u);
    EXPECT_EQ(stats.totals.rx_dropped, 1u);
    EXPECT_EQ(stats.disconnects, 1u);
    EXPECT_EQ(stats.rx_truncated, 0u);  // counted once, by its cause
    EXPECT_FALSE(backend->link_up());

    // The peer comes back with a clean stream.
    UniqueFd again = connect_to(path);
    ASSERT_TRUE(eventually([&] { return sink.link(); }));
    write_all(again.get(), framed(test_frame(3)));
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 2; }));
    EXPECT_EQ(sink.frames()[1], test_frame(3));
    EXPECT_EQ(backend->stream_stats().connects, 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Lengths, NetStreamBackendBadPrefix,
    ::testing::Values(BadPrefixCase{"Zero", 0, &StreamBackendStats::rx_zero_length},
                      BadPrefixCase{"OneAboveTheLargest",
                                    static_cast<uint32_t>(net::kMaxFrameSize + 1),
                                    &StreamBackendStats::rx_oversize},
                      BadPrefixCase{"Garbage", 0xFFFFFFFFu, &StreamBackendStats::rx_oversize}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(NetStreamBackend, LargestFrameIsCarried) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    SharedSink sink;
    LoopRig rig(*backend, sink);
    UniqueFd peer = connect_to(path);
    write_all(peer.get(), framed(test_frame(7, net::kMaxFrameSize)));
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 1; }));
    EXPECT_EQ(sink.frames()[0].size(), net::kMaxFrameSize);
    EXPECT_TRUE(backend->link_up());
}

TEST(NetStreamBackend, PeerClosingMidFrameCountsATruncatedFrame) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    SharedSink sink;
    LoopRig rig(*backend, sink);
    {
        UniqueFd peer = connect_to(path);
        ASSERT_TRUE(eventually([&] { return sink.link(); }));
        const auto bytes = framed(test_frame(8, 500));
        write_all(peer.get(), std::span(bytes).first(200));
    }
    ASSERT_TRUE(eventually([&] { return !sink.link(); }));
    const auto stats = backend->stream_stats();
    EXPECT_EQ(stats.rx_truncated, 1u);
    EXPECT_EQ(stats.totals.rx_dropped, 1u);
    EXPECT_EQ(stats.disconnects, 1u);
    EXPECT_EQ(sink.frame_count(), 0u);
}

TEST(NetStreamBackend, RuntIsDroppedAndTheConnectionKept) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    SharedSink sink;
    LoopRig rig(*backend, sink);
    UniqueFd peer = connect_to(path);
    write_all(peer.get(), concat({framed(std::vector<uint8_t>(13, 0xAA)), framed(test_frame(1))}));
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 1; }));
    EXPECT_EQ(backend->stream_stats().rx_runts, 1u);
    EXPECT_TRUE(backend->link_up());
}

TEST(NetStreamBackend, FullSinkStopsReadingWithoutSpinningAndResumes) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    SharedSink sink;
    LoopRig rig(*backend, sink, /*pause_watch=*/false);  // the backend's fd alone must go quiet
    UniqueFd peer = connect_to(path);
    ASSERT_TRUE(eventually([&] { return sink.link(); }));

    sink.set_accepting(false);
    constexpr int kFrames = 200;
    std::vector<uint8_t> bytes;
    for (int i = 0; i < kFrames; ++i) {
        const auto one = framed(test_frame(static_cast<uint8_t>(i), 1514));
        bytes.insert(bytes.end(), one.begin(), one.end());
    }
    // From another thread: with the backend not reading, the socket fills and the write blocks
    // until the sink has room again.
    std::thread writer([&] { write_all(peer.get(), bytes); });
    std::this_thread::sleep_for(100ms);
    const uint64_t before = rig.wakeups();
    std::this_thread::sleep_for(300ms);
    // A busy loop would have woken thousands of times; a stopped watch wakes for nothing.
    EXPECT_LE(rig.wakeups() - before, 3u);
    EXPECT_EQ(sink.frame_count(), 0u);

    sink.set_accepting(true);
    rig.resume();
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == kFrames; }));
    writer.join();
    const auto frames = sink.frames();
    for (int i = 0; i < kFrames; ++i) {
        ASSERT_EQ(frames[i], test_frame(static_cast<uint8_t>(i), 1514)) << i;
    }
    EXPECT_EQ(backend->stats().rx_dropped, 0u);
}

TEST(NetStreamBackend, PeerThatLeavesWhileTheSinkIsFullIsSeenOnResume) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    SharedSink sink;
    LoopRig rig(*backend, sink, /*pause_watch=*/false);
    {
        UniqueFd peer = connect_to(path);
        ASSERT_TRUE(eventually([&] { return sink.link(); }));
        sink.set_accepting(false);
        write_all(peer.get(), concat({framed(test_frame(1)), framed(test_frame(2))}));
        std::this_thread::sleep_for(50ms);
    }
    // Hung up with frames unread: no spinning while the sink is full.
    std::this_thread::sleep_for(50ms);
    const uint64_t before = rig.wakeups();
    std::this_thread::sleep_for(200ms);
    EXPECT_LE(rig.wakeups() - before, 2u);

    sink.set_accepting(true);
    rig.resume();
    ASSERT_TRUE(eventually([&] { return !sink.link(); }));
    EXPECT_EQ(sink.frame_count(), 2u);  // what the peer sent before leaving still arrives
}

TEST(NetStreamBackend, ListenerRefusesASecondPeerAndKeepsTheFirst) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    SharedSink sink;
    LoopRig rig(*backend, sink);
    UniqueFd first = connect_to(path);
    ASSERT_TRUE(eventually([&] { return sink.link(); }));
    UniqueFd second = connect_to(path);
    ASSERT_TRUE(second);  // the kernel accepts into the backlog; the backend closes it
    EXPECT_TRUE(testing::peer_closed(second.get()));
    EXPECT_EQ(backend->stream_stats().refused_peers, 1u);

    write_all(first.get(), framed(test_frame(1)));
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 1; }));
    EXPECT_TRUE(backend->link_up());
    EXPECT_EQ(backend->stream_stats().connects, 1u);
}

TEST(NetStreamBackend, ClientReconnectsWhenTheListenerComesBack) {
    TempDir dir;
    const std::string path = dir.file("switch.sock");
    auto listener = std::make_optional(testing::listen_at(path));
    auto backend = StreamBackend::connect(path, 50ms);
    ASSERT_TRUE(backend) << backend.error().message;
    auto peer = std::make_optional(accept_from(listener->get()));
    SharedSink sink;
    LoopRig rig(**backend, sink);

    // The switch goes away (and its socket file with it): the link goes down. The listener
    // first, so no reconnect attempt finds it still there.
    listener.reset();
    ::unlink(path.c_str());
    peer.reset();
    ASSERT_TRUE(eventually([&] { return !sink.link(); }));
    (*backend)->send(std::span<const uint8_t>(test_frame(1)));
    EXPECT_EQ((*backend)->stream_stats().tx_peer_gone, 1u);
    std::this_thread::sleep_for(150ms);  // a few attempts find nobody
    EXPECT_GE((*backend)->stream_stats().connect_failures, 1u);

    // It comes back: the next attempt connects and the link comes up.
    listener.emplace(testing::listen_at(path));
    UniqueFd back = accept_from(listener->get());
    ASSERT_TRUE(back);
    ASSERT_TRUE(eventually([&] { return sink.link(); }));
    EXPECT_EQ(sink.links(), (std::vector<bool>{false, true}));
    EXPECT_EQ((*backend)->stream_stats().connects, 2u);
    (*backend)->send(std::span<const uint8_t>(test_frame(2)));
    EXPECT_EQ(testing::read_framed(back.get()), test_frame(2));
}

TEST(NetStreamBackend, ClientWithReconnectStartsDownAndWaitsForAPeer) {
    TempDir dir;
    const std::string path = dir.file("later.sock");
    auto backend = StreamBackend::connect(path, 30ms);
    ASSERT_TRUE(backend) << backend.error().message;
    EXPECT_FALSE((*backend)->link_up());
    SharedSink sink;
    LoopRig rig(**backend, sink);
    ASSERT_TRUE(eventually([&] { return !sink.link(); }));
    UniqueFd listener = testing::listen_at(path);
    UniqueFd peer = accept_from(listener.get());
    ASSERT_TRUE(peer);
    ASSERT_TRUE(eventually([&] { return sink.link(); }));
}

TEST(NetStreamBackend, ClientWithoutReconnectFailsWithNoPeer) {
    TempDir dir;
    const auto backend = StreamBackend::connect(dir.file("nobody.sock"));
    ASSERT_FALSE(backend);
    EXPECT_NE(backend.error().message.find("reconnect="), std::string::npos)
        << backend.error().message;
}

TEST(NetStreamBackend, PathThatIsNotASocketIsRefusedWithOneLine) {
    TempDir dir;
    const std::string path = dir.file("file");
    std::ofstream(path) << "not a socket";
    for (const auto& result : {StreamBackend::listen(path), StreamBackend::connect(path, 1s)}) {
        ASSERT_FALSE(result);
        EXPECT_NE(result.error().message.find("is not a socket"), std::string::npos)
            << result.error().message;
        EXPECT_EQ(result.error().message.find('\n'), std::string::npos);
    }
    struct stat status {};
    ASSERT_EQ(::stat(path.c_str(), &status), 0);  // left alone
    EXPECT_TRUE(S_ISREG(status.st_mode));
}

TEST(NetStreamBackend, ListenerReplacesAStaleSocketAndRemovesItsOwnAtClose) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    testing::bind_at(path, SOCK_STREAM);  // bound and closed at once: a dead process's file
    auto backend = listen_backend(path);
    ASSERT_TRUE(backend);
    UniqueFd peer = connect_to(path);
    EXPECT_TRUE(peer);
    backend.reset();
    EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

TEST(NetStreamBackend, ListenerRefusesAPathAnotherProcessIsListeningOn) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    UniqueFd live = testing::listen_at(path);
    const auto backend = StreamBackend::listen(path);
    ASSERT_FALSE(backend);
    EXPECT_NE(backend.error().message.find("in use"), std::string::npos) << backend.error().message;
    EXPECT_TRUE(connect_to(path));  // the owner's socket is still there
}

TEST(NetStreamBackend, TooLongAPathIsRefused) {
    const auto backend = StreamBackend::listen("/tmp/" + std::string(120, 'x'));
    ASSERT_FALSE(backend);
    EXPECT_NE(backend.error().message.find("at most 107"), std::string::npos)
        << backend.error().message;
}

TEST(NetStreamBackend, SlowPeerGetsWholeFramesInOrderAndTheRestIsTailDropped) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path, {.max_frame = 2000, .send_queue_bytes = 16 * 1024});
    SharedSink sink;
    LoopRig rig(*backend, sink);
    UniqueFd peer = connect_to(path);
    ASSERT_TRUE(eventually([&] { return backend->link_up(); }));

    // The peer reads nothing while the guest sends far more than the socket holds: short
    // writes and EAGAIN put frames in the queue, and a full queue drops whole frames.
    constexpr int kFrames = 3000;
    for (int i = 0; i < kFrames; ++i) {
        auto frame = test_frame(static_cast<uint8_t>(i), 999 + i % 7);
        frame[14] = static_cast<uint8_t>(i >> 8);
        backend->send(std::span<const uint8_t>(frame));
    }
    const auto stats = backend->stream_stats();
    EXPECT_GT(stats.tx_queue_full, 0u);
    EXPECT_EQ(stats.totals.tx_frames + stats.totals.tx_dropped, uint64_t{kFrames});

    // Now it reads: every frame that was accepted arrives whole and in order, the queued tail
    // flushed by the I/O thread as the socket drains.
    int last = -1;
    uint64_t received = 0;
    while (auto frame = testing::read_framed(peer.get(), 500ms)) {
        const int index = (*frame)[14] << 8 | (*frame)[15];
        ASSERT_GT(index, last);
        ASSERT_EQ(frame->size(), 999u + index % 7);
        last = index;
        ++received;
    }
    EXPECT_EQ(received, stats.totals.tx_frames);
}

TEST(NetStreamBackend, QueuedFramesFlushWhenThePeerDrainsWithoutAnotherSend) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path, {.max_frame = 2000, .send_queue_bytes = 64 * 1024});
    EXPECT_TRUE(backend->receive_fd_pauses_itself());
    SharedSink sink;
    // The wiring's loop, which would stop watching the fd while the sink is full were it not
    // for receive_fd_pauses_itself(): a flush must not wait for the guest's receive buffers.
    LoopRig rig(*backend, sink);
    UniqueFd peer = connect_to(path);
    ASSERT_TRUE(eventually([&] { return backend->link_up(); }));
    sink.set_accepting(false);
    write_all(peer.get(), framed(test_frame(0xEE)));  // held: the sink is full
    std::this_thread::sleep_for(50ms);

    // The peer reads nothing: the socket fills and frames wait in the queue.
    uint64_t sent = 0;
    while (backend->queued_bytes() == 0 && sent < 10000) {
        auto frame = test_frame(static_cast<uint8_t>(sent), 1500);
        frame[14] = static_cast<uint8_t>(sent >> 8);
        backend->send(std::span<const uint8_t>(frame));
        ++sent;
    }
    ASSERT_GT(backend->queued_bytes(), 0u);
    const uint64_t accepted = backend->stream_stats().totals.tx_frames;
    EXPECT_EQ(accepted, sent);

    // The peer drains the socket; with no further send() the queue goes out and empties.
    uint64_t received = 0;
    while (received < accepted) {
        const auto frame = testing::read_framed(peer.get(), 2000ms);
        ASSERT_TRUE(frame) << "after " << received << " of " << accepted << " frames";
        ASSERT_EQ(((*frame)[14] << 8 | (*frame)[15]) & 0xFFFF, static_cast<int>(received & 0xFFFF));
        ++received;
    }
    EXPECT_TRUE(eventually([&] { return backend->queued_bytes() == 0; }));
    EXPECT_EQ(backend->stream_stats().totals.tx_dropped, 0u);
    EXPECT_EQ(sink.frame_count(), 0u);  // and the sink was never pushed
}

TEST(NetStreamBackend, SendsWhileNoPeerAreCountedAsPeerGone) {
    TempDir dir;
    auto backend = listen_backend(dir.file("net.sock"));
    backend->send(std::span<const uint8_t>(test_frame(1)));
    const auto stats = backend->stream_stats();
    EXPECT_EQ(stats.tx_peer_gone, 1u);
    EXPECT_EQ(stats.totals.tx_dropped, 1u);
    EXPECT_EQ(stats.totals.tx_frames, 0u);
}

TEST(NetStreamBackend, PeerGoneOnSendTakesTheLinkDown) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    SharedSink sink;
    LoopRig rig(*backend, sink);
    auto peer = std::make_optional(connect_to(path));
    ASSERT_TRUE(eventually([&] { return sink.link(); }));
    peer.reset();
    // Whichever notices first, the failed send or the read of the close, the link goes down
    // and later sends are counted, not fatal (no SIGPIPE either).
    for (int i = 0; i < 10; ++i) backend->send(std::span<const uint8_t>(test_frame(1)));
    ASSERT_TRUE(eventually([&] { return !sink.link(); }));
    EXPECT_GE(backend->stream_stats().tx_peer_gone, 1u);
    EXPECT_EQ(backend->stream_stats().disconnects, 1u);
}

TEST(NetStreamBackend, ClientDropsAPeerSendingABadLengthAndReconnects) {
    TempDir dir;
    const std::string path = dir.file("hostile.sock");
    UniqueFd listener = testing::listen_at(path);
    auto backend = StreamBackend::connect(path, 30ms);
    ASSERT_TRUE(backend) << backend.error().message;
    UniqueFd hostile = accept_from(listener.get());
    SharedSink sink;
    LoopRig rig(**backend, sink);
    write_all(hostile.get(), length_prefix(0x7FFFFFFF));
    EXPECT_TRUE(testing::peer_closed(hostile.get()));
    // The same listener takes the reconnect; the link comes back.
    UniqueFd again = accept_from(listener.get());
    ASSERT_TRUE(again);
    ASSERT_TRUE(eventually([&] { return sink.link() && (*backend)->link_up(); }));
    EXPECT_EQ(sink.links(), (std::vector<bool>{false, true}));
    const auto stats = (*backend)->stream_stats();
    EXPECT_EQ(stats.rx_oversize, 1u);
    EXPECT_EQ(stats.connects, 2u);
    write_all(again.get(), framed(test_frame(4)));
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 1; }));
}

TEST(NetStreamBackend, OnePollHandlesAtMostTheBoundEvenOfDroppedFrames) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    testing::RecordingSink sink;
    backend->set_sink(&sink);
    UniqueFd peer = connect_to(path);
    backend->poll_receive();  // accepts the peer
    ASSERT_TRUE(backend->link_up());
    // A flood of runts: each is dropped, but a poll still returns after the bound, so one
    // hostile peer cannot hold the I/O thread.
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i < 3 * net::kMaxFramesPerPoll; ++i) {
        const auto one = framed(std::vector<uint8_t>(5, 0xEE));
        bytes.insert(bytes.end(), one.begin(), one.end());
    }
    write_all(peer.get(), bytes);
    EXPECT_EQ(backend->poll_receive(), 0u);
    EXPECT_EQ(backend->stream_stats().rx_runts, net::kMaxFramesPerPoll);
    // Its fd says there is more (the rest is held, not lost).
    EXPECT_TRUE(testing::wait_readable(backend->receive_fd(), 0ms));
    backend->poll_receive();
    backend->poll_receive();
    EXPECT_EQ(backend->stream_stats().rx_runts, 3 * net::kMaxFramesPerPoll);
    EXPECT_TRUE(backend->link_up());
}

TEST(NetStreamBackend, HalfAFrameThenSilenceCostsNothingButWaiting) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path);
    SharedSink sink;
    LoopRig rig(*backend, sink);
    UniqueFd peer = connect_to(path);
    const auto bytes = framed(test_frame(1, 1000));
    write_all(peer.get(), std::span(bytes).first(500));
    std::this_thread::sleep_for(100ms);
    const uint64_t before = rig.wakeups();
    std::this_thread::sleep_for(200ms);
    EXPECT_LE(rig.wakeups() - before, 1u);  // nothing spins on a stalled peer
    EXPECT_TRUE(backend->link_up());
    // Sending to it still works, and the rest completes the frame.
    backend->send(std::span<const uint8_t>(test_frame(2)));
    EXPECT_EQ(testing::read_framed(peer.get()), test_frame(2));
    write_all(peer.get(), std::span(bytes).subspan(500));
    ASSERT_TRUE(eventually([&] { return sink.frame_count() == 1; }));
    EXPECT_EQ(sink.frames()[0], test_frame(1, 1000));
}

TEST(NetStreamBackend, FrameTheGuestCannotHaveSentIsCountedNotWritten) {
    TempDir dir;
    const std::string path = dir.file("net.sock");
    auto backend = listen_backend(path, {.max_frame = 1514});
    UniqueFd peer = connect_to(path);
    backend->poll_receive();
    backend->send(std::span<const uint8_t>(test_frame(1, 1515)));
    backend->send(std::span<const uint8_t>());
    EXPECT_EQ(backend->stream_stats().tx_invalid, 2u);
    EXPECT_FALSE(testing::wait_readable(peer.get(), 20ms));
}

}  // namespace
}  // namespace hvmm
