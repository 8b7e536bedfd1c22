// Cursors over a validated descriptor chain's bytes: a ChainReader over its device-readable
// buffers, a ChainWriter over its device-writable ones. They are handed out by DescriptorChain
// only after every buffer was checked to lie in guest RAM, so the one way a read or write here
// falls short is the end of the chain; there is no other error to report. The iovecs point into
// guest RAM, which stays mapped for the VM's lifetime: a device may readv/writev into them
// directly (copy_iovecs) instead of copying through a bounce buffer.
//
// Threads: a cursor belongs to whichever thread popped its chain; none of this is shared.
// The guest may rewrite buffer contents at any time, so callers copy a header out once
// (read_exact into a local) and validate the copy, never the guest's bytes in place.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

namespace hvmm::virtio {

namespace detail {

// The position shared by both cursors: which iovec, how far into it, and how many bytes remain.
class ChainCursor {
  public:
    ChainCursor() = default;
    explicit ChainCursor(std::span<const iovec> segments);

    size_t remaining() const { return remaining_; }
    size_t consumed() const { return consumed_; }
    // Moves forward by up to n bytes (clamped at the end); returns how far it moved.
    size_t advance(size_t n);
    // Fills out with iovecs covering the next min(max_bytes, remaining()) bytes, the first one
    // trimmed by what is already consumed; returns how many entries it used (it stops early when
    // out is full). The cursor does not move: call advance() with what the system call took.
    size_t copy_iovecs(std::span<iovec> out, size_t max_bytes) const;

  protected:
    // Visits the next up-to-n bytes as host spans, advancing; returns the bytes visited.
    template <class F>
    size_t walk(size_t n, F&& visit);

  private:
    std::span<const iovec> segments_;
    size_t index_ = 0;   // current segment
    size_t offset_ = 0;  // bytes of segments_[index_] already consumed
    size_t remaining_ = 0;
    size_t consumed_ = 0;
};

}  // namespace detail

class ChainReader : public detail::ChainCursor {
  public:
    using ChainCursor::ChainCursor;
    // Copies min(out.size(), remaining()) bytes; returns the count (0 only at the end).
    size_t read(std::span<uint8_t> out);
    // All of out or nothing: false (cursor unmoved) if the chain ends first.
    bool read_exact(std::span<uint8_t> out);
    template <class T>
    std::optional<T> read_obj() {
        static_assert(std::is_trivially_copyable_v<T>);
        T value;
        if (!read_exact(std::span(reinterpret_cast<uint8_t*>(&value), sizeof(T)))) {
            return std::nullopt;
        }
        return value;
    }
};

class ChainWriter : public detail::ChainCursor {
  public:
    using ChainCursor::ChainCursor;
    // Copies min(in.size(), remaining()) bytes; returns the count (0 only at the end).
    size_t write(std::span<const uint8_t> in);
    // All of in or nothing: false (cursor unmoved) if the chain ends first.
    bool write_exact(std::span<const uint8_t> in);
    template <class T>
    bool write_obj(const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        return write_exact(std::span(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
    }
    // What goes in the used ring's len: the bytes written so far ("The Virtqueue Used Ring":
    // the device must have written at least len bytes before it publishes the entry).
    uint32_t bytes_written() const { return static_cast<uint32_t>(consumed()); }
};

}  // namespace hvmm::virtio
