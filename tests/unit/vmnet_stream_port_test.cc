// StreamPort over a real socketpair: frames in through the framing, frames out without ever
// blocking (tail drop when the peer stops reading), garbage and truncation closing the port.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "switch_test_client.h"
#include "vmnet/stream_port.h"

namespace hvmm::vmnet {
namespace {

using testing::ethernet_frame;
using testing::station;

struct RecordingHost : PortHost {
    std::vector<std::vector<uint8_t>> frames;
    std::map<PortId, std::string> closed;
    bool writable_wanted = false;

    void ingress(PortId, std::span<const uint8_t> frame) override {
        frames.emplace_back(frame.begin(), frame.end());
    }
    void want_writable(PortId, bool on) override { writable_wanted = on; }
    void close_port(PortId port, std::string_view why) override { closed[port] = why; }
};

struct PortPair {
    RecordingHost host;
    UniqueFd peer;  // the VM's end
    std::unique_ptr<StreamPort> port;

    explicit PortPair(StreamPortLimits limits = {}) {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        peer = UniqueFd(fds[1]);
        port = std::make_unique<StreamPort>(7, UniqueFd(fds[0]), host, "test peer", limits);
    }
    void peer_sends(const std::vector<uint8_t>& bytes) {
        ASSERT_EQ(::send(peer.get(), bytes.data(), bytes.size(), 0),
                  static_cast<ssize_t>(bytes.size()));
    }
};

std::vector<uint8_t> framed(const std::vector<uint8_t>& frame) {
    const auto header = net::encode_stream_header(frame.size());
    std::vector<uint8_t> out(header->begin(), header->end());
    out.insert(out.end(), frame.begin(), frame.end());
    return out;
}

TEST(StreamPort, DeliversFramesSplitAcrossReads) {
    PortPair pair;
    const auto one = ethernet_frame(station(2), station(1), 100, 1);
    const auto two = ethernet_frame(station(1), station(2), 300, 2);
    auto bytes = framed(one);
    const auto second = framed(two);
    bytes.insert(bytes.end(), second.begin(), second.begin() + 10);  // half a prefix and header
    pair.peer_sends(bytes);
    pair.port->handle_events(EPOLLIN);
    ASSERT_EQ(pair.host.frames.size(), 1u);
    EXPECT_EQ(pair.host.frames[0], one);
    pair.peer_sends({second.begin() + 10, second.end()});
    pair.port->handle_events(EPOLLIN);
    ASSERT_EQ(pair.host.frames.size(), 2u);
    EXPECT_EQ(pair.host.frames[1], two);
    EXPECT_TRUE(pair.host.closed.empty());
}

TEST(StreamPort, ZeroLengthIsGarbageAndClosesThePort) {
    PortPair pair;
    pair.peer_sends({0, 0, 0, 0, 1, 2, 3});
    pair.port->handle_events(EPOLLIN);
    EXPECT_EQ(pair.host.closed.count(7), 1u);
    EXPECT_EQ(pair.port->counters().rx_bad_length, 1u);
    EXPECT_TRUE(pair.host.frames.empty());
}

TEST(StreamPort, LengthAboveTheLargestFrameClosesThePort) {
    PortPair pair;
    pair.peer_sends({0x7F, 0xFF, 0xFF, 0xFF});
    pair.port->handle_events(EPOLLIN);
    EXPECT_EQ(pair.host.closed.count(7), 1u);
    EXPECT_EQ(pair.port->counters().rx_bad_length, 1u);
}

TEST(StreamPort, PeerClosingMidFrameCountsTruncated) {
    PortPair pair;
    auto bytes = framed(ethernet_frame(station(2), station(1)));
    bytes.resize(bytes.size() - 5);
    pair.peer_sends(bytes);
    pair.peer.reset();
    // A short read ends an event (epoll reports the rest again): the end comes with the next.
    pair.port->handle_events(EPOLLIN | EPOLLHUP);
    pair.port->handle_events(EPOLLIN | EPOLLHUP);
    EXPECT_EQ(pair.host.closed.count(7), 1u);
    EXPECT_EQ(pair.port->counters().rx_truncated, 1u);
    EXPECT_TRUE(pair.host.frames.empty());
}

TEST(StreamPort, PeerClosingBetweenFramesIsAPlainClose) {
    PortPair pair;
    pair.peer_sends(framed(ethernet_frame(station(2), station(1))));
    pair.peer.reset();
    pair.port->handle_events(EPOLLIN | EPOLLHUP);
    pair.port->handle_events(EPOLLIN | EPOLLHUP);
    EXPECT_EQ(pair.host.frames.size(), 1u);
    EXPECT_EQ(pair.host.closed[7], "peer closed");
    EXPECT_EQ(pair.port->counters().rx_truncated, 0u);
}

// A peer that stops reading: the socket fills, then the queue, then frames are dropped whole,
// and send() never blocks. Once the peer reads again, what was queued arrives intact, in order.
TEST(StreamPort, StoppedPeerCostsOnlyItsOwnFramesAndTheQueueDrainsInOrder) {
    PortPair pair(StreamPortLimits{.send_queue_bytes = 64 * 1024});
    uint64_t sent = 0;
    for (int i = 0; i < 2000; ++i) {
        auto frame = ethernet_frame(station(2), station(1), 1000, static_cast<uint8_t>(i));
        pair.port->send(frame);  // must return at once every time
        ++sent;
    }
    const PortCounters counters = pair.port->counters();
    EXPECT_GT(counters.tx_queue_full, 0u);
    EXPECT_EQ(counters.tx_frames + counters.tx_queue_full, sent);
    EXPECT_TRUE(pair.host.writable_wanted);
    EXPECT_GT(pair.port->queued_bytes(), 0u);

    // The peer reads everything while the port flushes on EPOLLOUT.
    net::StreamDecoder decoder;
    std::vector<uint8_t> fills;
    for (int round = 0; round < 10000 && fills.size() < counters.tx_frames; ++round) {
        pair.port->handle_events(EPOLLOUT);
        const auto space = decoder.writable();
        const ssize_t n = ::recv(pair.peer.get(), space.data(), space.size(), MSG_DONTWAIT);
        if (n > 0) {
            decoder.commit(static_cast<size_t>(n));
        }
        while (true) {
            const auto frame = decoder.next();
            ASSERT_TRUE(frame) << "the queue put garbage on the wire";
            if (!*frame)
                break;
            ASSERT_EQ((*frame)->size(), 1014u);
            fills.push_back((**frame)[20]);
        }
    }
    ASSERT_EQ(fills.size(), counters.tx_frames);
    // Nothing drained while sending, so the frames kept are the first ones, in order, and
    // every drop came after them (tail drop).
    for (size_t i = 0; i < fills.size(); ++i) {
        ASSERT_EQ(fills[i], static_cast<uint8_t>(i)) << "frame " << i;
    }
    EXPECT_FALSE(pair.host.writable_wanted);
    EXPECT_EQ(pair.port->queued_bytes(), 0u);
}

TEST(StreamPort, SendingToAGonePeerClosesThePort) {
    PortPair pair;
    pair.peer.reset();
    pair.port->send(ethernet_frame(station(2), station(1)));
    EXPECT_EQ(pair.host.closed.count(7), 1u);
    EXPECT_EQ(pair.port->counters().tx_failed, 1u);
}

// Random bytes from a peer: the port either delivers frames or closes, never crashes or loops.
TEST(StreamPort, RandomBytesNeverCrashThePort) {
    std::mt19937 random(12345);
    for (int trial = 0; trial < 200; ++trial) {
        PortPair pair(StreamPortLimits{.max_frame = 2048});
        std::vector<uint8_t> bytes(1 + random() % 8192);
        for (auto& b : bytes) b = static_cast<uint8_t>(random());
        if (trial % 2 == 0) {
            // Small plausible lengths, so some frames get through before the garbage.
            bytes[0] = bytes[1] = 0;
            bytes[2] = static_cast<uint8_t>(random() % 8);
        }
        pair.peer_sends(bytes);
        pair.peer.reset();
        for (int i = 0; i < 100 && pair.host.closed.empty(); ++i) {
            pair.port->handle_events(EPOLLIN | EPOLLHUP);
        }
        EXPECT_EQ(pair.host.closed.size(), 1u) << "trial " << trial;
    }
}

}  // namespace
}  // namespace hvmm::vmnet
