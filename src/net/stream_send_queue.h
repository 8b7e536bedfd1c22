// The sending half of the stream framing: frames waiting for a non-blocking stream socket to take
// them, already framed (length prefix and bytes), in a fixed ring. A short write is the normal
// case on a busy socket, and the rest of a frame begun must follow it before anything else, or
// the peer's decoder reads garbage lengths; this queue keeps that order and bounds the memory.
// When full, a new frame is dropped whole (tail drop), never a part of one: a slow or stopped
// peer costs its own frames, not the sender's memory or the other ports' progress.
//
// Pure: the caller does the writev(). One queue per connection, used by one thread (the one that
// writes that connection); not thread-safe.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "net/frame_limits.h"
#include "net/stream_framing.h"

namespace hvmm::net {

class StreamSendQueue {
  public:
    static constexpr size_t kDefaultCapacity = 256 * 1024;

    enum class Push : uint8_t {
        kQueued,
        kFull,     // no room for the whole frame: dropped (count it)
        kInvalid,  // length 0 or above max_frame; or push_unsent() misused
    };

    // capacity is raised to hold at least one largest frame with its prefix, so the unsent rest
    // of any frame always fits an empty queue.
    explicit StreamSendQueue(size_t capacity = kDefaultCapacity, size_t max_frame = kMaxFrameSize);

    // Appends the frame (a gather list) with its prefix.
    Push push(std::span<const iovec> frame);
    // For a sender that writes directly while the queue is empty: after writev(prefix + frame)
    // took only `written` bytes, keeps the rest. kInvalid if the queue is not empty (the direct
    // write jumped the queue) or written is not less than the framed length.
    Push push_unsent(std::span<const iovec> frame, size_t written);

    // The queued bytes as at most two iovecs (the ring may wrap), oldest first, for writev().
    size_t gather(std::span<iovec, 2> out);
    // n bytes of what gather() offered were written.
    void consume(size_t n);

    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    size_t capacity() const { return ring_.size(); }
    size_t max_frame() const { return max_frame_; }
    // Drops everything (the connection is gone; a new one starts on a frame boundary).
    void clear() { head_ = size_ = 0; }

  private:
    void append(std::span<const uint8_t> bytes, size_t& skip);

    size_t max_frame_;
    std::vector<uint8_t> ring_;
    size_t head_ = 0;  // oldest queued byte
    size_t size_ = 0;
};

}  // namespace hvmm::net
