#include "net/stream_framing.h"

#include <algorithm>
#include <cstring>

namespace hvmm::net {

std::string_view to_string(StreamError error) {
    switch (error) {
        case StreamError::kZeroLength:
            return "zero-length frame";
        case StreamError::kFrameTooLong:
            return "frame longer than the largest carried";
        case StreamError::kTruncated:
            return "peer closed mid-frame";
    }
    return "unknown stream error";
}

std::expected<StreamHeader, StreamError> encode_stream_header(size_t frame_length,
                                                              size_t max_frame) {
    if (frame_length == 0) {
        return std::unexpected(StreamError::kZeroLength);
    }
    if (frame_length > max_frame || frame_length > UINT32_MAX) {
        return std::unexpected(StreamError::kFrameTooLong);
    }
    const auto length = static_cast<uint32_t>(frame_length);
    return StreamHeader{static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
                        static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
}

StreamDecoder::StreamDecoder(size_t max_frame, size_t buffer_size)
    // A 4-byte prefix cannot announce more than UINT32_MAX, and clamping keeps the buffer size
    // below from overflowing.
    : max_frame_(std::clamp<size_t>(max_frame, 1, UINT32_MAX)),
      // Room for one whole frame with its prefix is what guarantees progress: a partial frame
      // moved to the start always has space to complete.
      buffer_(std::max({buffer_size, kMinBufferSize, kStreamLengthPrefixSize + max_frame_})) {}

std::span<uint8_t> StreamDecoder::writable() {
    if (error_) {
        return {};
    }
    if (start_ == end_) {
        start_ = end_ = 0;
    } else if (start_ > 0) {
        // What is left is at most one partial frame once the caller has taken the whole ones
        // (and if it has not, whole frames move too, still bounded by the buffer).
        std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
        end_ -= start_;
        start_ = 0;
    }
    return std::span(buffer_).subspan(end_);
}

void StreamDecoder::commit(size_t n) {
    // A caller that claims more than it was offered has a bug; clamp rather than run past the
    // buffer, since this sits on a data path.
    end_ += std::min(n, buffer_.size() - end_);
}

size_t StreamDecoder::feed(std::span<const uint8_t> bytes) {
    const auto space = writable();
    const size_t n = std::min(space.size(), bytes.size());
    if (n > 0) {
        std::memcpy(space.data(), bytes.data(), n);
        commit(n);
    }
    return n;
}

std::optional<uint32_t> StreamDecoder::length_at(size_t offset) const {
    if (end_ - offset < kStreamLengthPrefixSize) {
        return std::nullopt;
    }
    const uint8_t* p = buffer_.data() + offset;
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

std::expected<std::optional<std::span<const uint8_t>>, StreamError> StreamDecoder::next() {
    if (error_) {
        return std::unexpected(*error_);
    }
    const auto length = length_at(start_);
    if (!length) {
        return std::nullopt;
    }
    // Judged as soon as the prefix is complete, before waiting for a body that may never come.
    if (*length == 0) {
        error_ = StreamError::kZeroLength;
        return std::unexpected(*error_);
    }
    if (*length > max_frame_) {
        error_ = StreamError::kFrameTooLong;
        return std::unexpected(*error_);
    }
    if (end_ - start_ - kStreamLengthPrefixSize < *length) {
        return std::nullopt;
    }
    const std::span<const uint8_t> frame(buffer_.data() + start_ + kStreamLengthPrefixSize,
                                         *length);
    start_ += kStreamLengthPrefixSize + *length;
    return frame;
}

bool StreamDecoder::holds_partial_frame() const {
    size_t at = start_;
    while (at < end_) {
        const auto length = length_at(at);
        if (!length || *length == 0 || *length > max_frame_ ||
            end_ - at - kStreamLengthPrefixSize < *length) {
            // An incomplete prefix or body; a bad prefix is counted as partial too, since the
            // bytes after it are not a frame either.
            return true;
        }
        at += kStreamLengthPrefixSize + *length;
    }
    return false;
}

std::expected<void, StreamError> StreamDecoder::finish() {
    std::optional<StreamError> outcome = error_;
    if (!outcome && holds_partial_frame()) {
        outcome = StreamError::kTruncated;
    }
    reset();
    if (outcome) {
        return std::unexpected(*outcome);
    }
    return {};
}

void StreamDecoder::reset() {
    start_ = end_ = 0;
    error_.reset();
}

}  // namespace hvmm::net
