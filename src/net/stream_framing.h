// The framing of a stream socket that carries Ethernet frames: each frame is preceded by its
// length as a 4-byte big-endian integer, and nothing else. It is what QEMU's `-netdev stream`
// (and the older `-netdev socket`) speaks, what passt speaks on its Unix socket, and what hvmm's
// switch will speak, so one decoder serves all of them.
//
// Pure: no sockets, no clock, no logging. A StreamDecoder belongs to one connection and is used
// by the one thread that reads that connection (the I/O thread or the switch's); it is not
// thread-safe. The encoder functions are free and usable anywhere.
//
// A stream has no resynchronisation point, so a bad length (0, or more than the largest frame
// the decoder was built for) makes everything after it meaningless: the decoder then reports
// that error from every call until reset(), and the caller counts it, drops the connection and
// brings the NIC's link down. Frames shorter than an Ethernet header are framing-valid and
// handed over; judging them (runts) is the consumer's job, as it is for every other backend.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/expected.h"
#include "net/frame_limits.h"

namespace hvmm::net {

inline constexpr size_t kStreamLengthPrefixSize = 4;

enum class StreamError : uint8_t {
    kZeroLength,    // a length prefix of 0: QEMU never sends one, so the peer is not speaking this
    kFrameTooLong,  // a length above the decoder's max_frame: the frame could not be carried
    kTruncated,     // the peer closed with part of a frame (or of its prefix) not yet sent
};

std::string_view to_string(StreamError error);

using StreamHeader = std::array<uint8_t, kStreamLengthPrefixSize>;

// The prefix to write (writev) before a frame of frame_length bytes. Refuses what a decoder with
// the same max_frame would refuse, so hvmm never sends a frame its peer must treat as an attack.
std::expected<StreamHeader, StreamError> encode_stream_header(size_t frame_length,
                                                              size_t max_frame = kMaxFrameSize);

class StreamDecoder {
  public:
    // Reads at least this much per fill when the buffer is otherwise sized for one small frame,
    // so many small frames arrive per read() instead of one.
    static constexpr size_t kMinBufferSize = 64 * 1024;

    // max_frame: the largest frame accepted (1 to UINT32_MAX). The buffer is fixed at construction,
    // max(buffer_size, kMinBufferSize, prefix + max_frame) bytes, and never grows: memory is
    // bounded whatever the peer sends.
    explicit StreamDecoder(size_t max_frame = kMaxFrameSize, size_t buffer_size = 0);

    // Where the caller may read(2)/recv(2) bytes directly, followed by commit(n). Moves a
    // leftover partial frame to the start first, so each byte is moved at most once. Empty when
    // the buffer holds only whole frames not yet taken with next() (take them first), or after
    // an error.
    std::span<uint8_t> writable();
    // Declares that n bytes (at most writable().size()) were written at writable().
    void commit(size_t n);
    // Copies as much of bytes as fits (for callers that already hold the bytes); returns how
    // many were taken. 0 means take frames with next() first, or the decoder has failed.
    size_t feed(std::span<const uint8_t> bytes);

    // The next whole frame, in order; nothing when more bytes are needed; or the stream's error
    // once the bad prefix is reached (frames before it are still delivered first). The span
    // points into the decoder and stays valid until the next writable(), feed(), commit(),
    // finish() or reset(): several frames may be taken and then handed on together.
    std::expected<std::optional<std::span<const uint8_t>>, StreamError> next();

    // True when bytes are held that do not (yet) make a whole frame: the peer is mid-frame.
    // Whole frames not yet taken do not count.
    bool holds_partial_frame() const;
    // Bytes held and not yet taken as frames.
    size_t buffered() const { return end_ - start_; }
    std::optional<StreamError> error() const { return error_; }
    size_t max_frame() const { return max_frame_; }

    // The peer closed (read returned 0). Whole frames should have been taken with next() first.
    // Reports kTruncated if it was mid-frame, or the error already seen; then resets, so the
    // decoder is ready for the next connection either way.
    std::expected<void, StreamError> finish();
    // Forgets everything held and any error: a new connection starts.
    void reset();

  private:
    std::optional<uint32_t> length_at(size_t offset) const;

    size_t max_frame_;
    std::vector<uint8_t> buffer_;
    size_t start_ = 0;  // first byte not yet taken
    size_t end_ = 0;    // one past the last byte written
    std::optional<StreamError> error_;
};

}  // namespace hvmm::net
