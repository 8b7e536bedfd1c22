// A test stand-in for a guest's virtio driver: it lays a split virtqueue's descriptor table,
// available ring and used ring out in real GuestMemory (two RAM regions with a hole between
// them where MMIO would be), adds chains the way Linux's virtio_ring does (direct or through an
// indirect table), publishes them through avail.idx and reads the used ring back. Hostile tests
// also poke any field directly. Modelled on rust-vmm's MockSplitQueue; single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "devices/virtio/queue/split_queue.h"
#include "devices/virtio/queue/virtq_ring.h"
#include "memory/guest_memory.h"

namespace hvmm::virtio::testing {

// Guest-physical layout: RAM [0, 4 MiB), a hole [4 MiB, 8 MiB), RAM [8 MiB, 9 MiB).
inline constexpr uint64_t kRamEnd = 4ull << 20;
inline constexpr uint64_t kHoleStart = kRamEnd;  // "device MMIO": no RAM here
inline constexpr uint64_t kHighRam = 8ull << 20;
inline constexpr uint64_t kHighRamEnd = 9ull << 20;
inline constexpr uint64_t kDescTable = 0x10000;  // room for 32768 descriptors (512 KiB)
inline constexpr uint64_t kAvailRing = 0x100000;
inline constexpr uint64_t kUsedRing = 0x200000;
inline constexpr uint64_t kDataArea = 0x300000;  // buffers and indirect tables

inline GuestMemory make_test_memory() {
    const std::array<std::pair<uint64_t, uint64_t>, 2> layout{
        {{0, kRamEnd}, {kHighRam, kHighRamEnd - kHighRam}}};
    auto memory = GuestMemory::create_with_regions(layout);
    if (!memory) {
        ADD_FAILURE() << memory.error().message;
        std::abort();
    }
    return std::move(*memory);
}

// One element of a buffer the driver adds: device-readable or device-writable bytes.
struct Buffer {
    uint64_t addr;
    uint32_t len;
    bool writable = false;
};

struct UsedElement {
    uint32_t id;
    uint32_t len;
};

// Where one queue's rings and buffers go. The default is the layout above; a device with several
// queues gives each driver its own (queue_layout()).
struct QueueLayout {
    uint64_t desc_table = kDescTable;
    uint64_t avail_ring = kAvailRing;
    uint64_t used_ring = kUsedRing;
    uint64_t data_area = kDataArea;
    uint64_t data_end = kRamEnd;
};

// Queue n of a multi-queue device in RAM [0, 4 MiB): rings for up to 1024 entries in the first
// 256 KiB, and the rest of RAM shared out as buffer space (n < 4).
inline QueueLayout queue_layout(unsigned n) {
    const uint64_t rings = 0x10000 * n;
    const uint64_t data = 0x40000 + n * 0xF0000;
    return QueueLayout{0x0000 + rings, 0x4000 + rings, 0x8000 + rings, data, data + 0xF0000};
}

class MockDriver {
  public:
    MockDriver(const GuestMemory& memory, uint32_t size, QueueLayout layout = {})
        : memory_(memory), size_(size), layout_(layout), next_data_(layout.data_area) {}

    uint32_t size() const { return size_; }
    SplitQueueConfig config(bool event_idx = false, bool indirect = false) const {
        return SplitQueueConfig{size_,
                                GuestAddress(layout_.desc_table),
                                GuestAddress(layout_.avail_ring),
                                GuestAddress(layout_.used_ring),
                                event_idx,
                                indirect};
    }

    // Plain guest-memory pokes and peeks (a bad address fails the test).
    template <class T>
    void put(uint64_t address, const T& value) const {
        ASSERT_TRUE(memory_.write_obj(GuestAddress(address), value)) << std::hex << address;
    }
    template <class T>
    T get(uint64_t address) const {
        const auto value = memory_.read_obj<T>(GuestAddress(address));
        EXPECT_TRUE(value.has_value()) << std::hex << address;
        return value.value_or(T{});
    }
    void fill(uint64_t address, std::span<const uint8_t> bytes) const {
        ASSERT_TRUE(memory_.write(GuestAddress(address), bytes));
    }
    std::vector<uint8_t> bytes(uint64_t address, size_t length) const {
        std::vector<uint8_t> out(length);
        EXPECT_TRUE(memory_.read(GuestAddress(address), out));
        return out;
    }

    // Space for buffers and indirect tables, 16-byte aligned, never reused.
    uint64_t alloc(uint64_t length) {
        const uint64_t at = next_data_;
        next_data_ += (length + 15) & ~uint64_t{15};
        EXPECT_LE(next_data_, layout_.data_end);
        return at;
    }

    void set_descriptor(uint32_t index, Descriptor descriptor) const {
        put(layout_.desc_table + 16ull * index, descriptor);
    }
    Descriptor descriptor(uint32_t index) const {
        return get<Descriptor>(layout_.desc_table + 16ull * index);
    }

    // Lays the buffers out as a chain at consecutive descriptors from next_free_ (wrapping) and
    // returns its head; does not publish.
    uint16_t write_chain(std::span<const Buffer> buffers) {
        const auto head = static_cast<uint16_t>(next_free_);
        for (size_t i = 0; i < buffers.size(); ++i) {
            const uint32_t index = next_free_;
            next_free_ = (next_free_ + 1) % size_;
            const bool last = i + 1 == buffers.size();
            set_descriptor(
                index,
                Descriptor{buffers[i].addr, buffers[i].len,
                           static_cast<uint16_t>((buffers[i].writable ? desc_flags::kWrite : 0) |
                                                 (last ? 0 : desc_flags::kNext)),
                           static_cast<uint16_t>(last ? 0 : next_free_)});
        }
        return head;
    }
    // The same buffers in an indirect table at table_address (entry i chained to i + 1),
    // referred to by one INDIRECT descriptor; returns its index.
    uint16_t write_indirect_chain(std::span<const Buffer> buffers, uint64_t table_address) {
        for (size_t i = 0; i < buffers.size(); ++i) {
            const bool last = i + 1 == buffers.size();
            put(table_address + 16 * i,
                Descriptor{buffers[i].addr, buffers[i].len,
                           static_cast<uint16_t>((buffers[i].writable ? desc_flags::kWrite : 0) |
                                                 (last ? 0 : desc_flags::kNext)),
                           static_cast<uint16_t>(last ? 0 : i + 1)});
        }
        const auto head = static_cast<uint16_t>(next_free_);
        next_free_ = (next_free_ + 1) % size_;
        set_descriptor(head, Descriptor{table_address, static_cast<uint32_t>(16 * buffers.size()),
                                        desc_flags::kIndirect, 0});
        return head;
    }

    // avail.ring[idx % size] = head; avail.idx += 1 ("Updating The Available Ring").
    void publish(uint16_t head) {
        put<uint16_t>(layout_.avail_ring + avail_entry_offset(avail_idx_ % size_), head);
        // virtio_wmb(): the entry and its descriptors before the index, for a device that polls
        // the ring from another thread.
        std::atomic_thread_fence(std::memory_order_release);
        set_avail_idx(static_cast<uint16_t>(avail_idx_ + 1));
    }
    uint16_t add_chain(std::span<const Buffer> buffers) {
        const uint16_t head = write_chain(buffers);
        publish(head);
        return head;
    }
    uint16_t add_chain(std::initializer_list<Buffer> buffers) {
        return add_chain(std::span(buffers.begin(), buffers.size()));
    }
    uint16_t add_indirect_chain(std::initializer_list<Buffer> buffers) {
        const uint64_t table = alloc(16 * buffers.size());
        const uint16_t head =
            write_indirect_chain(std::span(buffers.begin(), buffers.size()), table);
        publish(head);
        return head;
    }

    void set_avail_idx(uint16_t idx) {
        avail_idx_ = idx;
        put<uint16_t>(layout_.avail_ring + kRingIdxOffset, idx);
    }
    uint16_t avail_idx() const { return avail_idx_; }
    void set_avail_flags(uint16_t flags) const {
        put<uint16_t>(layout_.avail_ring + kRingFlagsOffset, flags);
    }
    void set_used_event(uint16_t event) const {
        put<uint16_t>(layout_.avail_ring + used_event_offset(size_), event);
    }

    uint16_t used_idx() const { return get<uint16_t>(layout_.used_ring + kRingIdxOffset); }
    uint16_t used_flags() const { return get<uint16_t>(layout_.used_ring + kRingFlagsOffset); }
    uint16_t avail_event() const {
        return get<uint16_t>(layout_.used_ring + avail_event_offset(size_));
    }
    // The used entry at free-running index i.
    UsedElement used(uint16_t i) const {
        return get<UsedElement>(layout_.used_ring + used_entry_offset(i % size_));
    }

  private:
    const GuestMemory& memory_;
    uint32_t size_;
    QueueLayout layout_;
    uint32_t next_free_ = 0;
    uint16_t avail_idx_ = 0;
    uint64_t next_data_;
};

// Guest memory, a driver and the device's queue over it.
struct VirtqRig {
    explicit VirtqRig(uint32_t size = 16, bool event_idx = false, bool indirect = false)
        : memory(make_test_memory()), driver(memory, size), queue(memory) {
        const auto activated = queue.activate(driver.config(event_idx, indirect));
        EXPECT_TRUE(activated.has_value());
    }
    VirtqRig(const VirtqRig&) = delete;  // driver and queue refer to memory
    VirtqRig& operator=(const VirtqRig&) = delete;

    // The next pop() if it is a well-formed chain, else nothing (and a test failure).
    std::optional<DescriptorChain> pop_chain() {
        auto popped = queue.pop();
        if (!popped || !*popped) {
            ADD_FAILURE() << "expected a well-formed chain"
                          << (popped
                                  ? std::string(": ") + std::string(describe(popped->error().error))
                                  : std::string(": ring empty"));
            return std::nullopt;
        }
        return std::move(**popped);
    }
    // The head of the next pop() if it is a well-formed chain, else 0xFFFF (and a failure).
    uint16_t pop_head() {
        const auto chain = pop_chain();
        return chain ? chain->head() : 0xFFFF;
    }
    // The next pop() if it is a refused chain, else nothing (and a test failure).
    std::optional<MalformedChain> pop_malformed() {
        auto popped = queue.pop();
        if (!popped || *popped) {
            ADD_FAILURE() << "expected a malformed chain";
            return std::nullopt;
        }
        return popped->error();
    }

    GuestMemory memory;
    MockDriver driver;
    SplitQueue queue;
};

}  // namespace hvmm::virtio::testing
