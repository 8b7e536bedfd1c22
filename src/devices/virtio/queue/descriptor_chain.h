// One descriptor chain, walked and validated once, from the head the available ring named.
// Every descriptor is copied out of guest memory once into a local and only the copy is used
// (the guest can rewrite the table while the device walks it). A chain that breaks any rule
// below is refused as a whole with a ChainError; a chain that passes hands the device only a
// ChainReader (its device-readable bytes) and a ChainWriter (its device-writable bytes), as
// iovecs already checked to lie inside guest RAM.
//
// Rules (VIRTIO 1.2, "The Virtqueue Descriptor Table", "Indirect Descriptors",
// "Message Framing"), each a known flaw pattern in other VMMs:
// - next indices below the queue size (below the table's length inside an indirect table);
// - more descriptors than the queue size (than the indirect table holds) means a loop;
// - INDIRECT only when VIRTIO_F_INDIRECT_DESC was negotiated, never inside an indirect table,
//   never together with NEXT, a table length that is a non-zero multiple of 16, all in RAM;
//   its own WRITE flag is ignored, as the spec requires;
// - device-readable descriptors before device-writable ones;
// - every addr + len inside one guest RAM region, with overflow-checked arithmetic, so a buffer
//   over device MMIO or past the end of RAM is refused (CVE-2016-7422, CVE-2019-18960);
// - zero-length descriptors are allowed and contribute nothing (CVE-2016-6490);
// - the total length fits the used ring's 32-bit len (the spec forbids chains over 2^32 bytes).
//
// Threads: walk() runs on whichever thread owns the queue; a DescriptorChain is a value that
// thread may hand on. It points into guest RAM and must not outlive the GuestMemory.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/expected.h"
#include "devices/virtio/queue/chain_io.h"
#include "memory/guest_memory.h"

namespace hvmm::virtio {

enum class ChainError : uint8_t {
    kHeadOutOfRange,         // the available ring named a head >= queue size
    kNextOutOfRange,         // a next index >= queue size (or >= the indirect table's length)
    kLoop,                   // more descriptors than the table holds: next indices cycle
    kIndirectNotNegotiated,  // INDIRECT set without VIRTIO_F_INDIRECT_DESC
    kIndirectNested,         // INDIRECT inside an indirect table
    kIndirectWithNext,       // INDIRECT and NEXT on one descriptor
    kIndirectBadLength,      // table length zero or not a multiple of 16
    kIndirectOutsideRam,     // the table is not wholly inside one RAM region
    kBufferOutsideRam,       // addr + len overflows or leaves RAM (MMIO, past the end)
    kReadableAfterWritable,  // a device-readable descriptor after a device-writable one
    kTooLarge,               // total length over what the used ring's 32-bit len can report
};
std::string_view describe(ChainError error);

class DescriptorChain {
  public:
    // Walks the chain at head. table is the queue's descriptor table (16 * queue_size bytes,
    // already checked to lie in guest RAM); queue_size is a power of two <= 32768.
    static std::expected<DescriptorChain, ChainError> walk(const GuestMemory& memory,
                                                           std::span<const uint8_t> table,
                                                           uint32_t queue_size, uint16_t head,
                                                           bool indirect_negotiated);

    uint16_t head() const { return head_; }
    ChainReader reader() const { return ChainReader(readable()); }
    ChainWriter writer() const { return ChainWriter(writable()); }
    std::span<const iovec> readable() const { return std::span(segments_).first(first_writable_); }
    std::span<const iovec> writable() const {
        return std::span(segments_).subspan(first_writable_);
    }
    uint32_t readable_bytes() const { return readable_bytes_; }
    uint32_t writable_bytes() const { return writable_bytes_; }
    // Descriptors walked, the indirect one and zero-length ones included.
    uint32_t descriptor_count() const { return descriptor_count_; }

  private:
    DescriptorChain() = default;
    uint16_t head_ = 0;
    std::vector<iovec> segments_;  // readable ones first, then writable; no zero-length entries
    size_t first_writable_ = 0;
    uint32_t readable_bytes_ = 0;
    uint32_t writable_bytes_ = 0;
    uint32_t descriptor_count_ = 0;
};

}  // namespace hvmm::virtio
