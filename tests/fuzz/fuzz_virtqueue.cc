// Fuzz target for the split virtqueue: the input chooses a queue configuration (sizes and ring
// addresses, valid or not), fills the descriptor table, indirect tables and available ring with
// guest-chosen values, then scripts device work (pop, read and write the chain, add_used,
// notification decisions, undo, reset) interleaved with a guest rewriting the rings. It must
// never crash or hang, and every byte the device is handed must lie in guest RAM: each chain's
// iovecs are checked against the RAM regions here, and the run aborts if one is not (run under
// ASan/UBSan to catch the rest).
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <utility>
#include <vector>

#include "base/log.h"
#include "devices/virtio/queue/split_queue.h"
#include "devices/virtio/queue/virtq_ring.h"
#include "memory/guest_memory.h"
#include "fuzz_input.h"

namespace {

using hvmm::fuzz::FuzzInput;

namespace virtio = hvmm::virtio;
using hvmm::GuestAddress;
using hvmm::GuestMemory;

// Guest RAM [0, 64 KiB) and [128 KiB, 192 KiB), with a "device MMIO" hole between: small, so
// random addresses often land in RAM, in the hole, or across an edge.
constexpr uint64_t kLowEnd = 64 * 1024;
constexpr uint64_t kHighBase = 128 * 1024;
constexpr uint64_t kHighEnd = 192 * 1024;
// The usual ring places (for a queue of up to 256): desc 4 KiB, avail 0x2000, used 0x3000;
// indirect tables and buffers after them.
constexpr uint64_t kDesc = 0x1000, kAvail = 0x2000, kUsed = 0x3000, kTables = 0x6000;

GuestMemory& memory() {
    static GuestMemory m = [] {
        const std::array<std::pair<uint64_t, uint64_t>, 2> layout{
            {{0, kLowEnd}, {kHighBase, kHighEnd - kHighBase}}};
        auto created = GuestMemory::create_with_regions(layout);
        if (!created) {
            std::fprintf(stderr, "%s\n", created.error().message.c_str());
            std::abort();
        }
        return std::move(*created);
    }();
    return m;
}

// A guest address: mostly inside RAM, sometimes at its edges, in the hole, or anywhere.
uint64_t pick_address(FuzzInput& in) {
    switch (in.byte() % 8) {
        case 0:
        case 1:
        case 2:
            return kTables + in.word() % (kLowEnd - kTables);
        case 3:
            return kHighBase + in.word() % (kHighEnd - kHighBase);
        case 4:
            return kLowEnd - in.byte() % 64;  // running off the end of low RAM
        case 5:
            return kLowEnd + in.word();  // the hole
        case 6:
            return kHighEnd - in.byte() % 64;
        default:
            return in.qword();
    }
}

uint32_t pick_length(FuzzInput& in) {
    switch (in.byte() % 6) {
        case 0:
            return 0;
        case 1:
            return 0xFFFF'FFFFu - in.byte();
        case 2:
            return in.word();
        default:
            return in.byte() % 128;
    }
}

virtio::Descriptor pick_descriptor(FuzzInput& in, uint32_t table_entries) {
    virtio::Descriptor d{};
    const uint8_t kind = in.byte();
    d.flags = static_cast<uint16_t>((kind & 0x80) ? in.word() : (kind & 7));
    if (d.flags & virtio::desc_flags::kIndirect) {
        // Point at a table of descriptors usually, with a length that is often a multiple of 16.
        d.addr = (kind & 0x40) ? kTables + 16 * (in.byte() % 64) : pick_address(in);
        d.len = (kind & 0x20) ? 16u * (in.byte() % 9) : pick_length(in);
    } else {
        d.addr = pick_address(in);
        d.len = pick_length(in);
    }
    const uint8_t next = in.byte();
    d.next = static_cast<uint16_t>((next & 0x80) ? in.word() : next % (table_entries + 2));
    return d;
}

bool inside_ram(const iovec& segment) {
    const auto* p = static_cast<const uint8_t*>(segment.iov_base);
    for (const auto& region : memory().regions()) {
        if (p >= region.host && segment.iov_len <= region.size &&
            static_cast<uint64_t>(p - region.host) <= region.size - segment.iov_len) {
            return true;
        }
    }
    return false;
}

void check_chain(const virtio::DescriptorChain& chain, uint32_t queue_size) {
    uint64_t readable = 0, writable = 0;
    for (const iovec& segment : chain.readable()) {
        if (segment.iov_len == 0 || !inside_ram(segment))
            std::abort();
        readable += segment.iov_len;
    }
    for (const iovec& segment : chain.writable()) {
        if (segment.iov_len == 0 || !inside_ram(segment))
            std::abort();
        writable += segment.iov_len;
    }
    if (readable != chain.readable_bytes() || writable != chain.writable_bytes() ||
        readable + writable > 0xFFFF'FFFFull || chain.head() >= queue_size) {
        std::abort();
    }
}

struct Totals {
    uint64_t activated = 0, chains = 0, malformed = 0, broken = 0, notified = 0;
    ~Totals() {
        if (std::getenv("FUZZ_VIRTQUEUE_STATS")) {
            std::fprintf(stderr,
                         "activated %llu chains %llu malformed %llu broken %llu notified %llu\n",
                         (unsigned long long)activated, (unsigned long long)chains,
                         (unsigned long long)malformed, (unsigned long long)broken,
                         (unsigned long long)notified);
        }
    }
};
Totals g_totals;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    hvmm::fuzz::quiet_logs();
    GuestMemory& ram = memory();
    for (const auto& region : ram.regions()) std::memset(region.host, 0, region.size);
    FuzzInput in(data, size);

    // The configuration: usually a valid one at the usual places, sometimes anything.
    const uint8_t shape = in.byte();
    virtio::SplitQueueConfig config;
    // One input in eight gets an arbitrary size and ring addresses (mostly refused, which is
    // the point); the rest a valid queue of 1..256 entries so the data path is reached.
    const bool wild = (shape & 0xE0) == 0xE0;
    config.size = wild && (shape & 0x10) ? in.word() : (1u << (in.byte() % 9));
    config.event_idx = shape & 1;
    config.indirect_desc = shape & 2;
    config.desc_table = GuestAddress(wild && (shape & 4) ? pick_address(in) : kDesc);
    config.avail_ring = GuestAddress(wild && (shape & 8) ? pick_address(in) : kAvail);
    config.used_ring = GuestAddress(wild ? pick_address(in) : kUsed);

    virtio::SplitQueue queue(ram);
    if (!queue.activate(config)) {
        return 0;
    }
    ++g_totals.activated;
    const uint32_t queue_size = config.size;
    auto put16 = [&ram](uint64_t address, uint16_t value) {
        ram.write_obj(GuestAddress(address), value);
    };
    const uint64_t avail = config.avail_ring.value;

    // The guest's rings and tables.
    for (uint32_t i = 0; i < std::min<uint32_t>(queue_size, 64); ++i) {
        ram.write_obj(GuestAddress(config.desc_table.value + 16ull * i),
                      pick_descriptor(in, queue_size));
    }
    for (uint32_t i = 0; i < 32; ++i) {  // indirect tables
        ram.write_obj(GuestAddress(kTables + 16ull * i), pick_descriptor(in, 8));
    }
    for (uint32_t i = 0; i < std::min<uint32_t>(queue_size, 64); ++i) {
        const uint8_t h = in.byte();
        put16(avail + virtio::avail_entry_offset(i),
              static_cast<uint16_t>((h & 0xE0) == 0xE0 ? in.word() : h % (queue_size + 1)));
    }
    put16(avail + virtio::kRingIdxOffset,
          static_cast<uint16_t>(wild ? in.word() : in.byte() % (queue_size + 2)));
    put16(avail + virtio::kRingFlagsOffset, in.byte() & 1);
    put16(avail + virtio::used_event_offset(queue_size), in.word());

    std::vector<uint8_t> scratch(512);
    uint32_t used_added = 0;
    // Device work and guest rewrites; every step consumes input, and a pop does bounded work,
    // so this ends.
    for (int step = 0; step < 512 && !in.empty(); ++step) {
        const uint8_t op = in.byte();
        switch (op % 8) {
            case 0:
            case 1:
            case 2: {  // the device drains the ring
                for (int n = 0; n < 64; ++n) {
                    auto popped = queue.pop();
                    if (!popped)
                        break;
                    if (!*popped) {
                        ++g_totals.malformed;
                        queue.add_used(popped->error());
                        ++used_added;
                        continue;
                    }
                    ++g_totals.chains;
                    const virtio::DescriptorChain& chain = **popped;
                    check_chain(chain, queue_size);
                    if ((op & 0x80) && queue.undo_pop())
                        break;
                    auto reader = chain.reader();
                    while (reader.read(scratch) > 0) {
                    }
                    std::array<iovec, 4> iov{};
                    auto writer = chain.writer();
                    const size_t entries = writer.copy_iovecs(iov, in.word());
                    for (size_t i = 0; i < entries; ++i) {
                        if (!inside_ram(iov[i]))
                            std::abort();
                    }
                    std::fill(scratch.begin(), scratch.end(), op);
                    writer.write(std::span(scratch).first(in.word() % scratch.size()));
                    queue.add_used(chain.head(), writer.bytes_written());
                    ++used_added;
                }
                if (queue.should_notify())
                    ++g_totals.notified;
                break;
            }
            case 3:  // the guest makes more entries available (or lies about it)
                put16(avail + virtio::kRingIdxOffset,
                      static_cast<uint16_t>(queue.next_avail() +
                                            ((op & 0x80) ? in.word() : in.byte() % 8)));
                break;
            case 4: {  // the guest rewrites a descriptor (direct or indirect) or a ring entry
                const uint8_t where = in.byte();
                if (where & 1) {
                    ram.write_obj(GuestAddress(kTables + 16ull * (in.byte() % 32)),
                                  pick_descriptor(in, 8));
                } else if (where & 2) {
                    put16(avail + virtio::avail_entry_offset(in.word() % queue_size), in.word());
                } else {
                    ram.write_obj(
                        GuestAddress(config.desc_table.value + 16ull * (in.word() % queue_size)),
                        pick_descriptor(in, queue_size));
                }
                break;
            }
            case 5:
                if (op & 0x80) {
                    queue.disable_notifications();
                } else {
                    queue.enable_notifications();
                }
                break;
            case 6:
                put16(avail + virtio::used_event_offset(queue_size), in.word());
                put16(avail + virtio::kRingFlagsOffset, in.byte() & 1);
                if (queue.should_notify())
                    ++g_totals.notified;
                break;
            case 7:  // device reset and the driver enabling the queue again
                if (queue.broken())
                    ++g_totals.broken;
                queue.reset();
                if (!queue.activate(config))
                    std::abort();  // it was valid a moment ago
                used_added = 0;
                break;
        }
        // The device's used index counts exactly what it added. (Not compared with the ring in
        // guest memory: a hostile guest may point a writable buffer at the used ring itself.)
        if (queue.enabled() && !queue.broken() &&
            queue.next_used() != static_cast<uint16_t>(used_added)) {
            std::abort();
        }
    }
    if (queue.broken())
        ++g_totals.broken;
    return 0;
}
