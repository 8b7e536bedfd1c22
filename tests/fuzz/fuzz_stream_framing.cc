// Fuzz target for the stream framing decoder: the input becomes a byte stream fed in chunks of
// input-chosen sizes, both through feed() and through writable()/commit(). Whatever the bytes,
// the decoder must never crash or grow, and must agree exactly with a plain reference reading
// of the whole stream at once: the same frames, then the same error or the same partial tail.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include "net/stream_framing.h"
#include "fuzz_input.h"

namespace {

using hvmm::net::kStreamLengthPrefixSize;
using hvmm::net::StreamDecoder;
using hvmm::net::StreamError;
using Bytes = std::vector<uint8_t>;

struct Reading {
    std::vector<Bytes> frames;
    std::optional<StreamError> error;
    bool partial = false;
};

// The whole stream at once, the simplest way the format can be read.
Reading reference(const Bytes& stream, size_t max_frame) {
    Reading out;
    size_t at = 0;
    while (at < stream.size()) {
        if (stream.size() - at < kStreamLengthPrefixSize) {
            out.partial = true;
            return out;
        }
        const uint32_t length = uint32_t{stream[at]} << 24 | uint32_t{stream[at + 1]} << 16 |
                                uint32_t{stream[at + 2]} << 8 | stream[at + 3];
        if (length == 0) {
            out.error = StreamError::kZeroLength;
            return out;
        }
        if (length > max_frame) {
            out.error = StreamError::kFrameTooLong;
            return out;
        }
        if (stream.size() - at - kStreamLengthPrefixSize < length) {
            out.partial = true;
            return out;
        }
        const auto* body = stream.data() + at + kStreamLengthPrefixSize;
        out.frames.emplace_back(body, body + length);
        at += kStreamLengthPrefixSize + length;
    }
    return out;
}

using hvmm::fuzz::check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 3) {
        return 0;
    }
    const uint8_t mode = data[0];
    const size_t max_frame = 1 + (data[1] | (data[2] & 0x3F) << 8);  // 1..16384
    std::span<const uint8_t> rest(data + 3, size - 3);
    // Raw bytes almost always start with an absurd length; half the time the input is instead
    // read as (small length, body) records so that whole frames, splits and the limits are
    // reached too.
    Bytes stream;
    if (mode & 1) {
        size_t at = 0;
        while (at < rest.size()) {
            const size_t length = rest[at++] * ((mode & 2) ? 67 : 1);  // 0 sometimes, too
            const size_t body = std::min(length, rest.size() - at);
            stream.insert(stream.end(), {uint8_t(length >> 24), uint8_t(length >> 16),
                                         uint8_t(length >> 8), uint8_t(length)});
            stream.insert(stream.end(), rest.begin() + at, rest.begin() + at + body);
            at += body;
        }
    } else {
        stream.assign(rest.begin(), rest.end());
    }
    const Reading expected = reference(stream, max_frame);

    StreamDecoder decoder(max_frame, (mode & 4) ? 0 : 1);
    const size_t capacity = decoder.writable().size();
    Reading got;
    size_t at = 0;
    uint32_t chunk_state = mode * 2654435761u + static_cast<uint32_t>(size);
    while (at < stream.size() && !got.error) {
        chunk_state = chunk_state * 1103515245u + 12345u;
        const size_t want = std::min<size_t>(1 + (chunk_state >> 16) % 3000, stream.size() - at);
        size_t n = 0;
        if (mode & 8) {
            auto space = decoder.writable();
            n = std::min(space.size(), want);
            std::copy_n(stream.begin() + at, n, space.begin());
            decoder.commit(n);
        } else {
            n = decoder.feed(std::span(stream).subspan(at, want));
        }
        at += n;
        check(decoder.buffered() <= capacity, "buffer grew");
        while (true) {
            auto frame = decoder.next();
            if (!frame) {
                got.error = frame.error();
                break;
            }
            if (!*frame)
                break;
            check(!(*frame)->empty() && (*frame)->size() <= max_frame, "frame out of bounds");
            got.frames.emplace_back((*frame)->begin(), (*frame)->end());
        }
        check(n > 0 || got.error, "no progress without an error");
    }
    if (!got.error) {
        got.partial = decoder.holds_partial_frame();
    }
    check(got.frames == expected.frames, "frames differ from the reference");
    check(got.error == expected.error, "error differs from the reference");
    check(got.partial == expected.partial, "partial tail differs from the reference");
    const auto finished = decoder.finish();
    check(finished.has_value() == (!expected.error && !expected.partial), "finish disagrees");
    check(decoder.buffered() == 0 && !decoder.error(), "finish did not reset");
    return 0;
}
