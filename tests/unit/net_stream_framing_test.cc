// The stream socket framing (QEMU -netdev stream, passt): a 4-byte big-endian length before
// each frame, decoded from whatever chunks the socket happens to return.
#include "net/stream_framing.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <vector>

namespace hvmm::net {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes frame_of(size_t length, uint8_t seed) {
    Bytes frame(length);
    std::iota(frame.begin(), frame.end(), seed);
    return frame;
}

// The frame as it travels on the stream: prefix then bytes.
Bytes framed(const Bytes& frame) {
    const auto header = encode_stream_header(frame.size());
    EXPECT_TRUE(header);
    Bytes out(header->begin(), header->end());
    out.insert(out.end(), frame.begin(), frame.end());
    return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

Bytes prefix(uint32_t length) {
    return {uint8_t(length >> 24), uint8_t(length >> 16), uint8_t(length >> 8), uint8_t(length)};
}

// Feeds bytes in chunks of the given sizes (cycled), taking frames after each chunk as a
// backend would after each read. Stops at the first error and returns it.
struct Decoded {
    std::vector<Bytes> frames;
    std::optional<StreamError> error;
};
Decoded decode_in_chunks(StreamDecoder& decoder, const Bytes& stream,
                         std::vector<size_t> chunk_sizes) {
    Decoded out;
    size_t at = 0, which = 0;
    while (at < stream.size() && !out.error) {
        const size_t want = std::min(chunk_sizes[which++ % chunk_sizes.size()], stream.size() - at);
        size_t given = 0;
        while (given < want && !out.error) {
            const size_t n = decoder.feed(std::span(stream).subspan(at + given, want - given));
            given += n;
            while (true) {
                auto frame = decoder.next();
                if (!frame) {
                    out.error = frame.error();
                    break;
                }
                if (!*frame)
                    break;
                out.frames.emplace_back((*frame)->begin(), (*frame)->end());
            }
            if (n == 0 && !out.error) {
                ADD_FAILURE() << "decoder took nothing with no frame to give";
                return out;
            }
        }
        at += given;
    }
    return out;
}

TEST(NetStreamFraming, HeaderIsTheBigEndianLength) {
    const auto header = encode_stream_header(0x05EA);
    ASSERT_TRUE(header);
    EXPECT_EQ(*header, (StreamHeader{0x00, 0x00, 0x05, 0xEA}));
}

TEST(NetStreamFraming, EncoderRefusesWhatADecoderWouldRefuse) {
    EXPECT_EQ(encode_stream_header(0).error(), StreamError::kZeroLength);
    EXPECT_EQ(encode_stream_header(kMaxFrameSize + 1).error(), StreamError::kFrameTooLong);
    EXPECT_EQ(encode_stream_header(1515, 1514).error(), StreamError::kFrameTooLong);
    EXPECT_TRUE(encode_stream_header(kMaxFrameSize));
}

TEST(NetStreamFraming, OneFrameInOneReadComesOutWhole) {
    StreamDecoder decoder;
    const Bytes frame = frame_of(60, 1);
    const auto out = decode_in_chunks(decoder, framed(frame), {1000});
    ASSERT_FALSE(out.error);
    ASSERT_EQ(out.frames.size(), 1u);
    EXPECT_EQ(out.frames[0], frame);
    EXPECT_FALSE(decoder.holds_partial_frame());
    EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(NetStreamFraming, SeveralFramesInOneReadComeOutInOrder) {
    StreamDecoder decoder;
    const Bytes a = frame_of(60, 1), b = frame_of(1514, 2), c = frame_of(14, 3);
    const Bytes stream = concat({framed(a), framed(b), framed(c)});
    ASSERT_EQ(decoder.feed(stream), stream.size());
    std::vector<Bytes> frames;
    while (auto frame = decoder.next()) {
        if (!*frame)
            break;
        frames.emplace_back((*frame)->begin(), (*frame)->end());
    }
    EXPECT_EQ(frames, (std::vector<Bytes>{a, b, c}));
}

TEST(NetStreamFraming, FramesTakenTogetherStayValidUntilTheNextFill) {
    StreamDecoder decoder;
    const Bytes a = frame_of(60, 1), b = frame_of(70, 2);
    const Bytes stream = concat({framed(a), framed(b)});
    decoder.feed(stream);
    const auto first = decoder.next();
    const auto second = decoder.next();
    ASSERT_TRUE(first && *first && second && *second);
    EXPECT_EQ(Bytes((*first)->begin(), (*first)->end()), a);
    EXPECT_EQ(Bytes((*second)->begin(), (*second)->end()), b);
}

TEST(NetStreamFraming, LengthPrefixSplitAcrossReadsIsCarriedOver) {
    for (size_t split = 1; split < kStreamLengthPrefixSize; ++split) {
        StreamDecoder decoder;
        const Bytes frame = frame_of(100, 9);
        const Bytes stream = framed(frame);
        decoder.feed(std::span(stream).first(split));
        auto nothing = decoder.next();
        ASSERT_TRUE(nothing);
        EXPECT_FALSE(*nothing);
        EXPECT_TRUE(decoder.holds_partial_frame());
        decoder.feed(std::span(stream).subspan(split));
        auto whole = decoder.next();
        ASSERT_TRUE(whole && *whole) << "split " << split;
        EXPECT_EQ(Bytes((*whole)->begin(), (*whole)->end()), frame);
        EXPECT_FALSE(decoder.holds_partial_frame());
    }
}

TEST(NetStreamFraming, FrameBodySplitAcrossReadsIsCarriedOver) {
    StreamDecoder decoder;
    const Bytes frame = frame_of(1514, 5);
    const auto out = decode_in_chunks(decoder, framed(frame), {700, 500, 318});
    ASSERT_FALSE(out.error);
    ASSERT_EQ(out.frames.size(), 1u);
    EXPECT_EQ(out.frames[0], frame);
}

TEST(NetStreamFraming, FramesSplitAndCoalescedAcrossReadsAllArrive) {
    std::vector<Bytes> frames;
    Bytes stream;
    for (size_t i = 0; i < 50; ++i) {
        frames.push_back(frame_of(14 + (i * 97) % 1600, static_cast<uint8_t>(i)));
        const Bytes f = framed(frames.back());
        stream.insert(stream.end(), f.begin(), f.end());
    }
    // Chunk sizes that neither divide a frame nor line up with prefixes.
    for (const auto& chunks : std::vector<std::vector<size_t>>{
             {3}, {7, 1, 300}, {1500}, {4096, 5}, {65536}, {2, 2, 2, 1999}}) {
        StreamDecoder decoder;
        const auto out = decode_in_chunks(decoder, stream, chunks);
        ASSERT_FALSE(out.error);
        EXPECT_EQ(out.frames, frames) << "first chunk " << chunks[0];
        EXPECT_FALSE(decoder.holds_partial_frame());
    }
}

TEST(NetStreamFraming, ByteAtATimeFeedingDecodesEveryFrame) {
    StreamDecoder decoder;
    const Bytes a = frame_of(1, 1), b = frame_of(60, 2), c = frame_of(9000, 3);
    const auto out = decode_in_chunks(decoder, concat({framed(a), framed(b), framed(c)}), {1});
    ASSERT_FALSE(out.error);
    EXPECT_EQ(out.frames, (std::vector<Bytes>{a, b, c}));
}

TEST(NetStreamFraming, ReadingDirectlyIntoTheBufferWorksLikeFeeding) {
    StreamDecoder decoder;
    const Bytes frame = frame_of(300, 4);
    const Bytes stream = framed(frame);
    auto space = decoder.writable();
    ASSERT_GE(space.size(), stream.size());
    std::copy(stream.begin(), stream.end(), space.begin());
    decoder.commit(stream.size());
    auto out = decoder.next();
    ASSERT_TRUE(out && *out);
    EXPECT_EQ(Bytes((*out)->begin(), (*out)->end()), frame);
}

TEST(NetStreamFraming, LargestFrameFitsAndOneByteMoreIsRefused) {
    StreamDecoder decoder(1514);
    const Bytes largest = frame_of(1514, 0);
    auto out = decode_in_chunks(decoder, framed(largest), {1000});
    ASSERT_FALSE(out.error);
    ASSERT_EQ(out.frames.size(), 1u);
    out = decode_in_chunks(decoder, concat({prefix(1515), frame_of(1515, 0)}), {1000});
    EXPECT_EQ(out.error, StreamError::kFrameTooLong);
}

TEST(NetStreamFraming, ZeroLengthIsADistinctErrorAndSticks) {
    StreamDecoder decoder;
    const Bytes good = frame_of(60, 1);
    const auto out =
        decode_in_chunks(decoder, concat({framed(good), prefix(0), framed(good)}), {1000});
    ASSERT_EQ(out.frames.size(), 1u) << "the frame before the bad prefix is still delivered";
    EXPECT_EQ(out.error, StreamError::kZeroLength);
    EXPECT_EQ(decoder.error(), StreamError::kZeroLength);
    EXPECT_EQ(decoder.next().error(), StreamError::kZeroLength);
    EXPECT_TRUE(decoder.writable().empty()) << "a failed stream takes no more bytes";
    EXPECT_EQ(decoder.feed(good), 0u);
}

TEST(NetStreamFraming, OversizeLengthIsRefusedBeforeItsBodyArrives) {
    StreamDecoder decoder;
    // A hostile peer announcing 4 GiB and sending nothing more must not make the decoder wait
    // for (or allocate) the body.
    decoder.feed(prefix(0xFFFFFFFF));
    EXPECT_EQ(decoder.next().error(), StreamError::kFrameTooLong);
    StreamDecoder second;
    second.feed(prefix(static_cast<uint32_t>(kMaxFrameSize + 1)));
    EXPECT_EQ(second.next().error(), StreamError::kFrameTooLong);
}

TEST(NetStreamFraming, PeerClosingMidFrameIsReportedAsTruncated) {
    StreamDecoder decoder;
    const Bytes stream = framed(frame_of(100, 1));
    decoder.feed(std::span(stream).first(50));
    EXPECT_TRUE(decoder.holds_partial_frame());
    EXPECT_EQ(decoder.finish().error(), StreamError::kTruncated);
    // finish() leaves the decoder ready for the next connection.
    EXPECT_FALSE(decoder.holds_partial_frame());
    EXPECT_EQ(decoder.buffered(), 0u);
    decoder.feed(stream);
    EXPECT_TRUE(decoder.next().value().has_value());
}

TEST(NetStreamFraming, PeerClosingMidPrefixIsReportedAsTruncated) {
    StreamDecoder decoder;
    decoder.feed(Bytes{0x00, 0x00});
    EXPECT_EQ(decoder.finish().error(), StreamError::kTruncated);
}

TEST(NetStreamFraming, PeerClosingBetweenFramesIsClean) {
    StreamDecoder decoder;
    decoder.feed(framed(frame_of(60, 1)));
    ASSERT_TRUE(decoder.next().value().has_value());
    EXPECT_FALSE(decoder.holds_partial_frame());
    EXPECT_TRUE(decoder.finish());
}

TEST(NetStreamFraming, FinishReportsAnEarlierErrorAndResetsIt) {
    StreamDecoder decoder;
    decoder.feed(prefix(0));
    EXPECT_FALSE(decoder.next());
    EXPECT_EQ(decoder.finish().error(), StreamError::kZeroLength);
    EXPECT_FALSE(decoder.error());
    decoder.feed(framed(frame_of(10, 1)));
    EXPECT_TRUE(decoder.next().value().has_value());
}

TEST(NetStreamFraming, WholeFramesNotYetTakenAreNotAPartialFrame) {
    StreamDecoder decoder;
    decoder.feed(concat({framed(frame_of(60, 1)), framed(frame_of(60, 2))}));
    EXPECT_FALSE(decoder.holds_partial_frame());
    EXPECT_EQ(decoder.buffered(), 2 * (60 + kStreamLengthPrefixSize));
}

TEST(NetStreamFraming, BufferNeverGrowsWhateverThePeerSends) {
    StreamDecoder decoder(1514);
    const size_t capacity = decoder.writable().size();
    // Whole frames the caller does not take fill the buffer; then it takes no more.
    const Bytes f = framed(frame_of(1000, 1));
    size_t taken = 0;
    for (int i = 0; i < 1000; ++i) taken += decoder.feed(f);
    EXPECT_LE(taken, capacity);
    EXPECT_TRUE(decoder.writable().empty());
    // Taking frames makes room again.
    while (decoder.next().value()) {
    }
    EXPECT_EQ(decoder.writable().size(), capacity - decoder.buffered());
}

TEST(NetStreamFraming, RandomChunkingOfRandomFramesRoundTrips) {
    std::mt19937 rng(42);
    std::vector<Bytes> frames;
    Bytes stream;
    for (int i = 0; i < 300; ++i) {
        frames.push_back(frame_of(1 + rng() % 9000, static_cast<uint8_t>(rng())));
        const Bytes f = framed(frames.back());
        stream.insert(stream.end(), f.begin(), f.end());
    }
    std::vector<size_t> chunks;
    for (int i = 0; i < 97; ++i) chunks.push_back(1 + rng() % 20000);
    StreamDecoder decoder(9000);
    const auto out = decode_in_chunks(decoder, stream, chunks);
    ASSERT_FALSE(out.error);
    EXPECT_EQ(out.frames, frames);
}

}  // namespace
}  // namespace hvmm::net
