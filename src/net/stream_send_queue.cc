#include "net/stream_send_queue.h"

#include <algorithm>
#include <cstring>

namespace hvmm::net {

StreamSendQueue::StreamSendQueue(size_t capacity, size_t max_frame)
    : max_frame_(std::max<size_t>(max_frame, 1)),
      ring_(std::max(capacity, kStreamLengthPrefixSize + max_frame_)) {}

void StreamSendQueue::append(std::span<const uint8_t> bytes, size_t& skip) {
    // Leading bytes already written by the caller are skipped, not queued.
    const size_t skipped = std::min(skip, bytes.size());
    skip -= skipped;
    bytes = bytes.subspan(skipped);
    while (!bytes.empty()) {
        const size_t tail = (head_ + size_) % ring_.size();
        const size_t n = std::min(bytes.size(), ring_.size() - tail);
        std::memcpy(ring_.data() + tail, bytes.data(), n);
        size_ += n;
        bytes = bytes.subspan(n);
    }
}

StreamSendQueue::Push StreamSendQueue::push(std::span<const iovec> frame) {
    return push_unsent(frame, 0);
}

StreamSendQueue::Push StreamSendQueue::push_unsent(std::span<const iovec> frame, size_t written) {
    const size_t length = frame_length(frame);
    const auto header = encode_stream_header(length, max_frame_);
    if (!header) {
        return Push::kInvalid;
    }
    const size_t framed = kStreamLengthPrefixSize + length;
    if (written > 0 && (!empty() || written >= framed)) {
        return Push::kInvalid;
    }
    if (framed - written > ring_.size() - size_) {
        return Push::kFull;
    }
    size_t skip = written;
    append(*header, skip);
    for (const iovec& part : frame) {
        append(std::span(static_cast<const uint8_t*>(part.iov_base), part.iov_len), skip);
    }
    return Push::kQueued;
}

size_t StreamSendQueue::gather(std::span<iovec, 2> out) {
    if (size_ == 0) {
        return 0;
    }
    const size_t first = std::min(size_, ring_.size() - head_);
    out[0] = iovec{ring_.data() + head_, first};
    if (first == size_) {
        return 1;
    }
    out[1] = iovec{ring_.data(), size_ - first};
    return 2;
}

void StreamSendQueue::consume(size_t n) {
    n = std::min(n, size_);  // more than offered is a caller bug; never run past the data
    head_ = (head_ + n) % ring_.size();
    size_ -= n;
    if (size_ == 0) {
        head_ = 0;  // start over at the front: fewer wrapped (two-part) writes
    }
}

}  // namespace hvmm::net
