// The framed send queue: frames wait, prefixed, for a non-blocking socket; short writes resume
// mid-frame; a full queue drops new frames whole.
#include "net/stream_send_queue.h"

#include <gtest/gtest.h>

#include <random>

#include "net/stream_framing.h"

namespace hvmm::net {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes frame_of(size_t length, uint8_t seed) {
    Bytes frame(length);
    for (size_t i = 0; i < length; ++i) frame[i] = static_cast<uint8_t>(seed + i);
    return frame;
}

StreamSendQueue::Push push(StreamSendQueue& queue, const Bytes& frame) {
    const iovec part{const_cast<uint8_t*>(frame.data()), frame.size()};
    return queue.push(std::span<const iovec>(&part, 1));
}

// "Writes" up to `limit` bytes of what the queue offers, as writev would.
Bytes drain(StreamSendQueue& queue, size_t limit = SIZE_MAX) {
    Bytes out;
    std::array<iovec, 2> parts{};
    const size_t n = queue.gather(parts);
    for (size_t i = 0; i < n && out.size() < limit; ++i) {
        const auto* p = static_cast<const uint8_t*>(parts[i].iov_base);
        const size_t take = std::min(parts[i].iov_len, limit - out.size());
        out.insert(out.end(), p, p + take);
    }
    queue.consume(out.size());
    return out;
}

std::vector<Bytes> decode(const Bytes& stream) {
    StreamDecoder decoder;
    std::vector<Bytes> frames;
    size_t at = 0;
    while (at < stream.size()) {
        at += decoder.feed(std::span(stream).subspan(at));
        while (auto frame = decoder.next().value())
            frames.emplace_back(frame->begin(), frame->end());
    }
    EXPECT_FALSE(decoder.holds_partial_frame());
    return frames;
}

TEST(NetStreamSendQueue, QueuedFramesComeOutPrefixedInOrder) {
    StreamSendQueue queue;
    const Bytes a = frame_of(60, 1), b = frame_of(1514, 2);
    EXPECT_EQ(push(queue, a), StreamSendQueue::Push::kQueued);
    EXPECT_EQ(push(queue, b), StreamSendQueue::Push::kQueued);
    EXPECT_EQ(queue.size(), 2 * kStreamLengthPrefixSize + 60 + 1514);
    EXPECT_EQ(decode(drain(queue)), (std::vector<Bytes>{a, b}));
    EXPECT_TRUE(queue.empty());
}

TEST(NetStreamSendQueue, GatherListFrameIsQueuedAsOne) {
    StreamSendQueue queue;
    const Bytes frame = frame_of(100, 3);
    const std::array<iovec, 3> parts{iovec{const_cast<uint8_t*>(frame.data()), 14},
                                     iovec{const_cast<uint8_t*>(frame.data()) + 14, 0},
                                     iovec{const_cast<uint8_t*>(frame.data()) + 14, 86}};
    EXPECT_EQ(queue.push(parts), StreamSendQueue::Push::kQueued);
    EXPECT_EQ(decode(drain(queue)), (std::vector<Bytes>{frame}));
}

TEST(NetStreamSendQueue, ShortWritesResumeMidFrame) {
    StreamSendQueue queue;
    const Bytes a = frame_of(500, 1), b = frame_of(700, 2);
    push(queue, a);
    push(queue, b);
    Bytes stream;
    for (const size_t step : {1, 3, 250, 2, 600, 1000}) {
        const Bytes written = drain(queue, step);
        stream.insert(stream.end(), written.begin(), written.end());
    }
    EXPECT_TRUE(queue.empty());
    EXPECT_EQ(decode(stream), (std::vector<Bytes>{a, b}));
}

TEST(NetStreamSendQueue, FullQueueDropsTheNewFrameWholeAndKeepsTheOthers) {
    StreamSendQueue queue(4096, 1514);
    size_t queued = 0;
    while (push(queue, frame_of(1000, uint8_t(queued))) == StreamSendQueue::Push::kQueued) ++queued;
    EXPECT_EQ(queued, 4u);  // 4 x 1004 bytes fit in 4096
    EXPECT_EQ(queue.size(), 4 * 1004u);
    EXPECT_EQ(push(queue, frame_of(100, 9)), StreamSendQueue::Push::kFull) << "80 bytes left";
    EXPECT_EQ(push(queue, frame_of(60, 9)), StreamSendQueue::Push::kQueued) << "a smaller one fits";
    const auto frames = decode(drain(queue));
    ASSERT_EQ(frames.size(), 5u);
    EXPECT_EQ(frames[4], frame_of(60, 9));
}

TEST(NetStreamSendQueue, InvalidLengthsAreRefused) {
    StreamSendQueue queue(4096, 1514);
    EXPECT_EQ(push(queue, Bytes{}), StreamSendQueue::Push::kInvalid);
    EXPECT_EQ(push(queue, frame_of(1515, 0)), StreamSendQueue::Push::kInvalid);
    EXPECT_TRUE(queue.empty());
}

TEST(NetStreamSendQueue, CapacityAlwaysHoldsOneLargestFrame) {
    StreamSendQueue queue(10, 1514);
    EXPECT_GE(queue.capacity(), 1514 + kStreamLengthPrefixSize);
    EXPECT_EQ(push(queue, frame_of(1514, 0)), StreamSendQueue::Push::kQueued);
}

TEST(NetStreamSendQueue, UnsentRestOfADirectWriteIsKeptInOrder) {
    StreamSendQueue queue;
    const Bytes a = frame_of(300, 1), b = frame_of(40, 2);
    // The sender wrote prefix + 100 bytes of a directly; the rest must go first.
    const auto header = encode_stream_header(a.size()).value();
    Bytes stream(header.begin(), header.end());
    stream.insert(stream.end(), a.begin(), a.begin() + 100);
    const iovec part{const_cast<uint8_t*>(a.data()), a.size()};
    EXPECT_EQ(queue.push_unsent(std::span<const iovec>(&part, 1), 104),
              StreamSendQueue::Push::kQueued);
    push(queue, b);
    const Bytes rest = drain(queue);
    stream.insert(stream.end(), rest.begin(), rest.end());
    EXPECT_EQ(decode(stream), (std::vector<Bytes>{a, b}));
}

TEST(NetStreamSendQueue, UnsentRestIsRefusedWhenItWouldJumpTheQueue) {
    StreamSendQueue queue;
    const Bytes a = frame_of(300, 1);
    push(queue, a);
    const iovec part{const_cast<uint8_t*>(a.data()), a.size()};
    EXPECT_EQ(queue.push_unsent(std::span<const iovec>(&part, 1), 10),
              StreamSendQueue::Push::kInvalid);
    queue.clear();
    EXPECT_EQ(queue.push_unsent(std::span<const iovec>(&part, 1), 304),
              StreamSendQueue::Push::kInvalid)
        << "a frame written whole has no rest";
}

TEST(NetStreamSendQueue, WrappingRingKeepsEveryFrameIntact) {
    std::mt19937 rng(7);
    StreamSendQueue queue(8192, 2000);
    std::vector<Bytes> sent;
    Bytes stream;
    for (int round = 0; round < 2000; ++round) {
        const Bytes frame = frame_of(1 + rng() % 2000, uint8_t(round));
        if (push(queue, frame) == StreamSendQueue::Push::kQueued)
            sent.push_back(frame);
        const Bytes written = drain(queue, rng() % 3000);
        stream.insert(stream.end(), written.begin(), written.end());
    }
    const Bytes rest = drain(queue);
    stream.insert(stream.end(), rest.begin(), rest.end());
    EXPECT_GT(sent.size(), 1000u);
    EXPECT_EQ(decode(stream), sent);
}

}  // namespace
}  // namespace hvmm::net
