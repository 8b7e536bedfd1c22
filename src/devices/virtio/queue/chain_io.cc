#include "devices/virtio/queue/chain_io.h"

#include <algorithm>
#include <cstring>

namespace hvmm::virtio::detail {

ChainCursor::ChainCursor(std::span<const iovec> segments) : segments_(segments) {
    // DescriptorChain keeps each side's total below 2^32, so this cannot overflow.
    for (const iovec& segment : segments_) {
        remaining_ += segment.iov_len;
    }
}

template <class F>
size_t ChainCursor::walk(size_t n, F&& visit) {
    size_t done = 0;
    while (done < n && index_ < segments_.size()) {
        const iovec& segment = segments_[index_];
        const size_t take = std::min(n - done, segment.iov_len - offset_);
        // In bounds: offset_ + take <= iov_len, and the segment was range-checked in guest RAM.
        visit(static_cast<uint8_t*>(segment.iov_base) + offset_, take);
        done += take;
        offset_ += take;
        if (offset_ == segment.iov_len) {
            ++index_;
            offset_ = 0;
        }
    }
    remaining_ -= done;
    consumed_ += done;
    return done;
}

size_t ChainCursor::advance(size_t n) {
    return walk(n, [](uint8_t*, size_t) {});
}

size_t ChainCursor::copy_iovecs(std::span<iovec> out, size_t max_bytes) const {
    size_t used = 0;
    size_t offset = offset_;
    size_t left = std::min(max_bytes, remaining_);
    for (size_t i = index_; i < segments_.size() && used < out.size() && left > 0; ++i) {
        const size_t take = std::min(left, segments_[i].iov_len - offset);
        out[used++] = iovec{static_cast<uint8_t*>(segments_[i].iov_base) + offset, take};
        left -= take;
        offset = 0;
    }
    return used;
}

}  // namespace hvmm::virtio::detail

namespace hvmm::virtio {

size_t ChainReader::read(std::span<uint8_t> out) {
    uint8_t* to = out.data();
    return walk(out.size(), [&to](uint8_t* from, size_t n) {
        std::memcpy(to, from, n);
        to += n;
    });
}

bool ChainReader::read_exact(std::span<uint8_t> out) {
    if (out.size() > remaining()) {
        return false;
    }
    read(out);
    return true;
}

size_t ChainWriter::write(std::span<const uint8_t> in) {
    const uint8_t* from = in.data();
    return walk(in.size(), [&from](uint8_t* to, size_t n) {
        std::memcpy(to, from, n);
        from += n;
    });
}

bool ChainWriter::write_exact(std::span<const uint8_t> in) {
    if (in.size() > remaining()) {
        return false;
    }
    write(in);
    return true;
}

}  // namespace hvmm::virtio
