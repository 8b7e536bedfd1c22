// A hostile guest driver: one regression test per known virtqueue flaw pattern in other VMMs,
// named by its CVE where it has one. Whatever the rings hold, the queue never crashes, never
// loops, never touches memory outside guest RAM, and answers each refused chain exactly once.
#include <gtest/gtest.h>

#include <vector>

#include "devices/virtio/queue/split_queue.h"
#include "virtio_mock_driver.h"

namespace hvmm::virtio::testing {
namespace {

using F = Descriptor;
constexpr uint16_t kNext = desc_flags::kNext;
constexpr uint16_t kWrite = desc_flags::kWrite;
constexpr uint16_t kIndirect = desc_flags::kIndirect;

// CVE-2016-5403: QEMU popped whatever avail.idx claimed until memory ran out. An index more
// than the queue size ahead stops the queue instead (counted), until the driver resets it.
TEST(VirtioQueueHostile, Cve2016_5403_AvailIdxFarAheadStopsTheQueue) {
    VirtqRig rig(16);
    const uint64_t buffer = rig.driver.alloc(8);
    for (int i = 0; i < 16; ++i) rig.driver.add_chain({{buffer, 8}});
    rig.driver.set_avail_idx(17);
    EXPECT_FALSE(rig.queue.pop());
    EXPECT_TRUE(rig.queue.broken());
    EXPECT_EQ(rig.queue.counters().broken, 1u);
    EXPECT_EQ(rig.queue.counters().chains, 0u);
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(rig.queue.pop());
    EXPECT_EQ(rig.queue.counters().broken, 1u);  // counted once, not per attempt
}

TEST(VirtioQueueHostile, Cve2016_5403_AvailIdxMovedBackwardsStopsTheQueue) {
    // "A driver MUST NOT decrement the available idx": seen from the device, a decrement is an
    // index 65535 entries ahead.
    VirtqRig rig(16);
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    ASSERT_TRUE(rig.pop_chain());
    rig.driver.set_avail_idx(0);
    EXPECT_FALSE(rig.queue.pop());
    EXPECT_TRUE(rig.queue.broken());
}

TEST(VirtioQueueHostile, Cve2016_5403_AtMostTheQueueSizeIsPoppedPerIndexRead) {
    VirtqRig rig(8);
    const uint64_t buffer = rig.driver.alloc(8);
    for (int i = 0; i < 8; ++i) rig.driver.add_chain({{buffer, 8}});
    int popped = 0;
    while (rig.queue.pop()) ++popped;
    EXPECT_EQ(popped, 8);
    EXPECT_FALSE(rig.queue.broken());
}

// CVE-2016-6490: QEMU asserted on a zero-length descriptor. Here one names no bytes: the chain
// is valid, reads and writes through it stop at once, and nothing underflows.
TEST(VirtioQueueHostile, Cve2016_6490_ZeroLengthDescriptorsAreHarmless) {
    VirtqRig rig;
    const uint16_t head = rig.driver.add_chain({{rig.driver.alloc(8), 0},
                                                {~uint64_t{0}, 0},  // no bytes, so no address
                                                {kHoleStart, 0, true}});
    auto chain = rig.pop_chain();
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->head(), head);
    EXPECT_EQ(chain->readable_bytes(), 0u);
    EXPECT_EQ(chain->writable_bytes(), 0u);
    EXPECT_TRUE(chain->readable().empty());
    EXPECT_TRUE(chain->writable().empty());
    auto reader = chain->reader();
    std::vector<uint8_t> bytes(16);
    EXPECT_EQ(reader.read(bytes), 0u);
    EXPECT_FALSE(reader.read_obj<uint32_t>());
    auto writer = chain->writer();
    EXPECT_EQ(writer.write(bytes), 0u);
    EXPECT_EQ(writer.bytes_written(), 0u);
    rig.queue.add_used(head, writer.bytes_written());
    EXPECT_EQ(rig.driver.used(0).len, 0u);
}

TEST(VirtioQueueHostile, Cve2016_6490_ZeroLengthIndirectTableIsRefused) {
    VirtqRig rig(16, false, true);
    rig.driver.set_descriptor(0, F{rig.driver.alloc(16), 0, kIndirect, 0});
    rig.driver.publish(0);
    const auto bad = rig.pop_malformed();
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->error, ChainError::kIndirectBadLength);
}

// CVE-2016-7422: addr + len wrapped around 2^64 and passed a check of the start alone.
TEST(VirtioQueueHostile, Cve2016_7422_AddressPlusLengthOverflowIsRefused) {
    VirtqRig rig;
    rig.driver.add_chain({{~uint64_t{0} - 10, 100}});
    rig.driver.add_chain({{~uint64_t{0}, 1, true}});
    EXPECT_EQ(rig.pop_malformed()->error, ChainError::kBufferOutsideRam);
    EXPECT_EQ(rig.pop_malformed()->error, ChainError::kBufferOutsideRam);
}

// CVE-2019-18960: a buffer starting in RAM and running past its end was accepted.
TEST(VirtioQueueHostile, Cve2019_18960_BufferRunningPastTheEndOfRamIsRefused) {
    VirtqRig rig(16, false, true);
    rig.driver.add_chain({{kHighRamEnd - 100, 101, true}});
    rig.driver.add_indirect_chain({{rig.driver.alloc(8), 8}, {kRamEnd - 1, 0xFFFF'FFFFu, true}});
    EXPECT_EQ(rig.pop_malformed()->error, ChainError::kBufferOutsideRam);
    EXPECT_EQ(rig.pop_malformed()->error, ChainError::kBufferOutsideRam);
    EXPECT_EQ(rig.queue.counters().malformed_chains, 2u);
}

TEST(VirtioQueueHostile, BufferPointingAtDeviceMmioIsRefused) {
    VirtqRig rig;
    rig.driver.add_chain({{rig.driver.alloc(12), 12}, {kHoleStart + 0x100, 1500, true}});
    EXPECT_EQ(rig.pop_malformed()->error, ChainError::kBufferOutsideRam);
}

TEST(VirtioQueueHostile, DescriptorCycleIsAnsweredOnceAndNeverWalkedAgain) {
    VirtqRig rig;
    const uint64_t buffer = rig.driver.alloc(8);
    rig.driver.set_descriptor(0, F{buffer, 8, kNext, 1});
    rig.driver.set_descriptor(1, F{buffer, 8, kNext, 0});
    rig.driver.publish(0);
    const auto bad = rig.pop_malformed();
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->error, ChainError::kLoop);
    rig.queue.add_used(*bad);
    EXPECT_EQ(rig.driver.used_idx(), 1);
    EXPECT_EQ(rig.driver.used(0).id, 0u);
    EXPECT_EQ(rig.driver.used(0).len, 0u);
    EXPECT_FALSE(rig.queue.pop());  // consumed: not re-parsed on the next kick
    EXPECT_EQ(rig.queue.counters().malformed_chains, 1u);
}

TEST(VirtioQueueHostile, EveryEntryALoopOnTheLargestQueueStillEnds) {
    VirtqRig rig(32768);
    const uint64_t buffer = rig.driver.alloc(8);
    // One chain through all 32768 descriptors that ends by pointing back at the first.
    for (uint32_t i = 0; i < 32768; ++i) {
        rig.driver.set_descriptor(i, F{buffer, 8, kNext, static_cast<uint16_t>((i + 1) % 32768)});
    }
    for (uint32_t i = 0; i < 64; ++i) rig.driver.publish(static_cast<uint16_t>(i * 512));
    int refused = 0;
    while (auto popped = rig.queue.pop()) {
        ASSERT_FALSE(*popped);
        EXPECT_EQ(popped->error().error, ChainError::kLoop);
        rig.queue.add_used(popped->error());
        ++refused;
    }
    EXPECT_EQ(refused, 64);
}

TEST(VirtioQueueHostile, MalformedIndirectTablesAreRefusedAndAnswered) {
    VirtqRig rig(16, false, true);
    const uint64_t buffer = rig.driver.alloc(8);
    // Nested.
    const uint64_t inner = rig.driver.alloc(16);
    rig.driver.put(inner, F{buffer, 8, 0, 0});
    const uint64_t outer = rig.driver.alloc(16);
    rig.driver.put(outer, F{inner, 16, kIndirect, 0});
    rig.driver.set_descriptor(0, F{outer, 16, kIndirect, 0});
    // With NEXT.
    rig.driver.set_descriptor(1, F{inner, 16, kIndirect | kNext, 2});
    rig.driver.set_descriptor(2, F{buffer, 8, kWrite, 0});
    // Length not a multiple of 16.
    rig.driver.set_descriptor(3, F{inner, 24, kIndirect, 0});
    // In the MMIO hole.
    rig.driver.set_descriptor(4, F{kHoleStart, 16, kIndirect, 0});
    // A cycle inside the table.
    const uint64_t cyclic = rig.driver.alloc(32);
    rig.driver.put(cyclic, F{buffer, 8, kNext, 1});
    rig.driver.put(cyclic + 16, F{buffer, 8, kNext, 0});
    rig.driver.set_descriptor(5, F{cyclic, 32, kIndirect, 0});
    // Next beyond the table.
    const uint64_t short_table = rig.driver.alloc(16);
    rig.driver.put(short_table, F{buffer, 8, kNext, 1});
    rig.driver.set_descriptor(6, F{short_table, 16, kIndirect, 0});
    // Head 2 (a plain one-descriptor chain on its own) goes last.
    for (const uint16_t head : {0, 1, 3, 4, 5, 6, 2}) rig.driver.publish(head);

    const ChainError expected[] = {ChainError::kIndirectNested,
                                   ChainError::kIndirectWithNext,
                                   ChainError::kIndirectBadLength,
                                   ChainError::kIndirectOutsideRam,
                                   ChainError::kLoop,
                                   ChainError::kNextOutOfRange};
    for (const ChainError error : expected) {
        const auto bad = rig.pop_malformed();
        ASSERT_TRUE(bad);
        EXPECT_EQ(bad->error, error) << describe(error);
        rig.queue.add_used(*bad);
    }
    auto chain = rig.pop_chain();
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->head(), 2);
    EXPECT_EQ(rig.driver.used_idx(), 6);
    EXPECT_EQ(rig.queue.counters().malformed_chains, 6u);
}

TEST(VirtioQueueHostile, CycleInAnIndirectTableAsLargeAsRamIsALoop) {
    // A 4 MiB table claims 262144 entries, but 16-bit next fields reach only 65536 of them, so
    // a two-entry cycle at its start is caught after 65537 steps, not 262145 (the bound is
    // in DescriptorChain::walk; this checks that the walk ends and says why).
    VirtqRig rig(16, false, true);
    rig.driver.put(0, F{kDataArea, 8, kNext, 1});
    rig.driver.put(16, F{kDataArea, 8, kNext, 0});
    rig.driver.set_descriptor(0, F{0, static_cast<uint32_t>(kRamEnd), kIndirect, 0});
    rig.driver.publish(0);
    EXPECT_EQ(rig.pop_malformed()->error, ChainError::kLoop);
}

TEST(VirtioQueueHostile, IndirectDescriptorWithoutTheFeatureIsRefused) {
    VirtqRig rig(16, false, false);
    rig.driver.add_indirect_chain({{rig.driver.alloc(8), 8}});
    EXPECT_EQ(rig.pop_malformed()->error, ChainError::kIndirectNotNegotiated);
}

TEST(VirtioQueueHostile, ChainOver4GiBIsRefused) {
    VirtqRig rig(2048);
    std::vector<Buffer> buffers(1025, Buffer{0, static_cast<uint32_t>(kRamEnd), true});
    rig.driver.add_chain(buffers);
    EXPECT_EQ(rig.pop_malformed()->error, ChainError::kTooLarge);
}

TEST(VirtioQueueHostile, HeadBeyondTheQueueSizeIsRefusedAndAnswered) {
    VirtqRig rig(16);
    rig.driver.publish(16);
    rig.driver.publish(0xFFFF);
    for (const uint16_t head : {uint16_t{16}, uint16_t{0xFFFF}}) {
        const auto bad = rig.pop_malformed();
        ASSERT_TRUE(bad);
        EXPECT_EQ(bad->head, head);
        EXPECT_EQ(bad->error, ChainError::kHeadOutOfRange);
        rig.queue.add_used(*bad);
    }
    EXPECT_EQ(rig.driver.used_idx(), 2);
    EXPECT_FALSE(rig.queue.broken());
}

TEST(VirtioQueueHostile, DescriptorRewrittenAfterTheWalkDoesNotChangeTheChain) {
    // Each descriptor is read once: a guest rewriting it mid-request (to point at MMIO, or to
    // grow its length past RAM) changes nothing the device already holds.
    VirtqRig rig;
    const uint64_t buffer = rig.driver.alloc(64);
    const uint16_t head = rig.driver.add_chain({{buffer, 64, true}});
    auto chain = rig.pop_chain();
    ASSERT_TRUE(chain);
    rig.driver.set_descriptor(head, F{kHoleStart, 0xFFFF'FFFFu, kWrite, 0});
    ASSERT_EQ(chain->writable().size(), 1u);
    EXPECT_EQ(chain->writable()[0].iov_base, rig.memory.span(GuestAddress(buffer), 64)->data());
    EXPECT_EQ(chain->writable_bytes(), 64u);
    auto writer = chain->writer();
    const std::vector<uint8_t> data(100, 0xAB);
    EXPECT_EQ(writer.write(data), 64u);
}

TEST(VirtioQueueHostile, ReadableAfterWritableIsRefused) {
    VirtqRig rig;
    rig.driver.add_chain({{rig.driver.alloc(8), 8, true}, {rig.driver.alloc(8), 8}});
    EXPECT_EQ(rig.pop_malformed()->error, ChainError::kReadableAfterWritable);
}

TEST(VirtioQueueHostile, RingsOverMmioOrWrappingAreNeverActivated) {
    const GuestMemory memory = make_test_memory();
    SplitQueue queue(memory);
    SplitQueueConfig config{256, GuestAddress(kHoleStart), GuestAddress(kAvailRing),
                            GuestAddress(kUsedRing)};
    EXPECT_FALSE(queue.activate(config));
    config.desc_table = GuestAddress(~uint64_t{0} & ~uint64_t{15});
    EXPECT_FALSE(queue.activate(config));
    EXPECT_FALSE(queue.enabled());
}

}  // namespace
}  // namespace hvmm::virtio::testing
