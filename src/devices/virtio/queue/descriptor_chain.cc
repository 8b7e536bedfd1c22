#include "devices/virtio/queue/descriptor_chain.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "devices/virtio/queue/virtq_ring.h"

namespace hvmm::virtio {
namespace {

// An indirect table's next field is 16 bits wide, so no walk inside one can reach more than
// 65536 distinct entries however long the table claims to be; bounding the loop check by this
// keeps a cycle in a huge table from costing 2^28 steps before it is caught.
constexpr uint32_t kMaxReachableIndirectEntries = 65536;

// The one read of a descriptor: a copy into a local the caller validates and uses.
Descriptor read_descriptor(std::span<const uint8_t> table, uint32_t index) {
    Descriptor descriptor;
    // In bounds: callers keep index below table.size() / sizeof(Descriptor).
    std::memcpy(&descriptor, table.data() + uint64_t{index} * sizeof(Descriptor),
                sizeof(Descriptor));
    return descriptor;
}

}  // namespace

std::string_view describe(ChainError error) {
    switch (error) {
        case ChainError::kHeadOutOfRange:
            return "head index beyond the queue size";
        case ChainError::kNextOutOfRange:
            return "next index beyond the descriptor table";
        case ChainError::kLoop:
            return "chain longer than its descriptor table (a loop)";
        case ChainError::kIndirectNotNegotiated:
            return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
        case ChainError::kIndirectNested:
            return "indirect descriptor inside an indirect table";
        case ChainError::kIndirectWithNext:
            return "indirect descriptor with NEXT set";
        case ChainError::kIndirectBadLength:
            return "indirect table length zero or not a multiple of 16";
        case ChainError::kIndirectOutsideRam:
            return "indirect table outside guest RAM";
        case ChainError::kBufferOutsideRam:
            return "buffer outside guest RAM";
        case ChainError::kReadableAfterWritable:
            return "device-readable descriptor after a device-writable one";
        case ChainError::kTooLarge:
            return "chain longer than 2^32 bytes";
    }
    return "unknown chain error";
}

std::expected<DescriptorChain, ChainError> DescriptorChain::walk(const GuestMemory& memory,
                                                                 std::span<const uint8_t> table,
                                                                 uint32_t queue_size, uint16_t head,
                                                                 bool indirect_negotiated) {
    if (head >= queue_size) {
        return std::unexpected(ChainError::kHeadOutOfRange);
    }
    DescriptorChain chain;
    chain.head_ = head;
    // The lengths add up in 64 bits: at most 32768 + 65536 descriptors of < 2^32 bytes each
    // cannot overflow, and the sum is checked against 2^32 after every descriptor.
    uint64_t readable_bytes = 0;
    uint64_t writable_bytes = 0;
    bool seen_writable = false;

    std::span<const uint8_t> current = table;  // the queue's table, then maybe an indirect one
    uint32_t entries = queue_size;
    uint32_t walked = 0;  // descriptors walked in `current`
    bool in_indirect = false;
    uint32_t index = head;
    for (;;) {
        // Pigeonhole: a walk of more descriptors than the table holds revisits one, and since
        // each descriptor's next is fixed for this copy, that is a cycle ("Indirect
        // Descriptors": a chain is never longer than the queue size).
        if (++walked > entries) {
            return std::unexpected(ChainError::kLoop);
        }
        const Descriptor descriptor = read_descriptor(current, index);
        ++chain.descriptor_count_;

        if (descriptor.flags & desc_flags::kIndirect) {
            // "Indirect Descriptors", driver requirements: only when negotiated, one table per
            // descriptor, never with NEXT. The device ignores this descriptor's WRITE flag.
            if (!indirect_negotiated) {
                return std::unexpected(ChainError::kIndirectNotNegotiated);
            }
            if (in_indirect) {
                return std::unexpected(ChainError::kIndirectNested);
            }
            if (descriptor.flags & desc_flags::kNext) {
                return std::unexpected(ChainError::kIndirectWithNext);
            }
            if (descriptor.len == 0 || descriptor.len % sizeof(Descriptor) != 0) {
                return std::unexpected(ChainError::kIndirectBadLength);
            }
            const auto indirect = memory.span(GuestAddress(descriptor.addr), descriptor.len);
            if (!indirect) {
                return std::unexpected(ChainError::kIndirectOutsideRam);
            }
            current = *indirect;
            // Linux's driver may put more entries in an indirect table than the queue size
            // (virtqueue_add_split only warns when it does so without indirect), so the walk
            // is bounded by the table, not the queue.
            entries = std::min<uint32_t>(descriptor.len / sizeof(Descriptor),
                                         kMaxReachableIndirectEntries);
            walked = 0;
            in_indirect = true;
            index = 0;  // "The first indirect descriptor is located at start of the table"
            continue;
        }

        const bool writable = descriptor.flags & desc_flags::kWrite;
        // "Message Framing": the driver places device-writable elements after device-readable
        // ones, so the reader and writer each see one contiguous run.
        if (!writable && seen_writable) {
            return std::unexpected(ChainError::kReadableAfterWritable);
        }
        seen_writable = seen_writable || writable;
        // A zero-length descriptor names no bytes: no range to check, no iovec, nothing to
        // subtract from (CVE-2016-6490's assertion came from mapping one).
        if (descriptor.len > 0) {
            const auto buffer = memory.span(GuestAddress(descriptor.addr), descriptor.len);
            if (!buffer) {
                return std::unexpected(ChainError::kBufferOutsideRam);
            }
            (writable ? writable_bytes : readable_bytes) += descriptor.len;
            if (readable_bytes + writable_bytes > std::numeric_limits<uint32_t>::max()) {
                return std::unexpected(ChainError::kTooLarge);
            }
            chain.segments_.push_back(iovec{buffer->data(), descriptor.len});
            if (!writable) {
                chain.first_writable_ = chain.segments_.size();
            }
        }

        if (!(descriptor.flags & desc_flags::kNext)) {
            break;
        }
        if (descriptor.next >= entries) {
            return std::unexpected(ChainError::kNextOutOfRange);
        }
        index = descriptor.next;
    }
    chain.readable_bytes_ = static_cast<uint32_t>(readable_bytes);
    chain.writable_bytes_ = static_cast<uint32_t>(writable_bytes);
    return chain;
}

}  // namespace hvmm::virtio
