// Walking one descriptor chain: direct and indirect layouts, and every rule that refuses one.
#include "devices/virtio/queue/descriptor_chain.h"

#include <gtest/gtest.h>

#include <vector>

#include "virtio_mock_driver.h"

namespace hvmm::virtio::testing {
namespace {

using F = Descriptor;
constexpr uint16_t kNext = desc_flags::kNext;
constexpr uint16_t kWrite = desc_flags::kWrite;
constexpr uint16_t kIndirect = desc_flags::kIndirect;

struct ChainRig {
    explicit ChainRig(uint32_t size = 16) : memory(make_test_memory()), driver(memory, size) {}
    std::expected<DescriptorChain, ChainError> walk(uint16_t head, bool indirect = true) {
        const auto table = memory.span(GuestAddress(kDescTable), desc_table_size(driver.size()));
        return DescriptorChain::walk(memory, *table, driver.size(), head, indirect);
    }
    GuestMemory memory;
    MockDriver driver;
};

TEST(VirtioDescriptorChain, SingleReadableDescriptorIsOneReadableSegment) {
    ChainRig rig;
    const uint64_t buffer = rig.driver.alloc(100);
    const Buffer buffers[] = {{buffer, 100}};
    const uint16_t head = rig.driver.write_chain(buffers);
    const auto chain = rig.walk(head);
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->head(), head);
    ASSERT_EQ(chain->readable().size(), 1u);
    EXPECT_EQ(chain->readable_bytes(), 100u);
    EXPECT_EQ(chain->writable_bytes(), 0u);
    EXPECT_TRUE(chain->writable().empty());
    EXPECT_EQ(chain->readable()[0].iov_base, rig.memory.span(GuestAddress(buffer), 100)->data());
    EXPECT_EQ(chain->descriptor_count(), 1u);
}

TEST(VirtioDescriptorChain, ReadableDescriptorsComeBeforeWritableOnes) {
    ChainRig rig;
    const Buffer buffers[] = {{rig.driver.alloc(12), 12},
                              {rig.driver.alloc(1514), 1514},
                              {rig.driver.alloc(64), 64, true},
                              {rig.driver.alloc(1), 1, true}};
    const auto chain = rig.walk(rig.driver.write_chain(buffers));
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->readable().size(), 2u);
    EXPECT_EQ(chain->writable().size(), 2u);
    EXPECT_EQ(chain->readable_bytes(), 1526u);
    EXPECT_EQ(chain->writable_bytes(), 65u);
    EXPECT_EQ(chain->descriptor_count(), 4u);
}

TEST(VirtioDescriptorChain, WritableOnlyChainHasAnEmptyReader) {
    ChainRig rig;
    const Buffer buffers[] = {{rig.driver.alloc(2048), 2048, true}};
    const auto chain = rig.walk(rig.driver.write_chain(buffers));
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->reader().remaining(), 0u);
    EXPECT_EQ(chain->writer().remaining(), 2048u);
}

TEST(VirtioDescriptorChain, ChainOfExactlyTheQueueSizeIsAccepted) {
    ChainRig rig(16);
    std::vector<Buffer> buffers(16, Buffer{rig.driver.alloc(8), 8});
    const auto chain = rig.walk(rig.driver.write_chain(buffers));
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->descriptor_count(), 16u);
    EXPECT_EQ(chain->readable_bytes(), 128u);
}

TEST(VirtioDescriptorChain, ChainStartingAtTheLastDescriptorWrapsThroughNext) {
    ChainRig rig(4);
    const uint64_t buffer = rig.driver.alloc(8);
    rig.driver.set_descriptor(3, F{buffer, 8, kNext, 0});
    rig.driver.set_descriptor(0, F{buffer, 4, kWrite, 0});
    const auto chain = rig.walk(3);
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->readable_bytes(), 8u);
    EXPECT_EQ(chain->writable_bytes(), 4u);
}

TEST(VirtioDescriptorChain, HeadAtTheQueueSizeIsRefused) {
    ChainRig rig(16);
    EXPECT_EQ(rig.walk(16).error(), ChainError::kHeadOutOfRange);
    EXPECT_EQ(rig.walk(0xFFFF).error(), ChainError::kHeadOutOfRange);
}

TEST(VirtioDescriptorChain, NextIndexAtTheQueueSizeIsRefused) {
    ChainRig rig(16);
    const uint64_t buffer = rig.driver.alloc(8);
    rig.driver.set_descriptor(0, F{buffer, 8, kNext, 16});
    EXPECT_EQ(rig.walk(0).error(), ChainError::kNextOutOfRange);
    rig.driver.set_descriptor(0, F{buffer, 8, kNext, 0xFFFF});
    EXPECT_EQ(rig.walk(0).error(), ChainError::kNextOutOfRange);
}

TEST(VirtioDescriptorChain, DescriptorPointingAtItselfIsALoop) {
    ChainRig rig;
    rig.driver.set_descriptor(5, F{rig.driver.alloc(8), 8, kNext, 5});
    EXPECT_EQ(rig.walk(5).error(), ChainError::kLoop);
}

TEST(VirtioDescriptorChain, CycleThroughSeveralDescriptorsIsALoop) {
    ChainRig rig;
    const uint64_t buffer = rig.driver.alloc(8);
    rig.driver.set_descriptor(1, F{buffer, 8, kNext, 2});
    rig.driver.set_descriptor(2, F{buffer, 8, kNext, 3});
    rig.driver.set_descriptor(3, F{buffer, 8, kNext, 1});
    EXPECT_EQ(rig.walk(1).error(), ChainError::kLoop);
}

TEST(VirtioDescriptorChain, CycleOfZeroLengthDescriptorsIsStillALoop) {
    ChainRig rig;
    rig.driver.set_descriptor(0, F{0, 0, kNext, 1});
    rig.driver.set_descriptor(1, F{0, 0, kNext, 0});
    EXPECT_EQ(rig.walk(0).error(), ChainError::kLoop);
}

TEST(VirtioDescriptorChain, ReadableDescriptorAfterAWritableOneIsRefused) {
    ChainRig rig;
    const Buffer buffers[] = {{rig.driver.alloc(8), 8, true}, {rig.driver.alloc(8), 8}};
    EXPECT_EQ(rig.walk(rig.driver.write_chain(buffers)).error(),
              ChainError::kReadableAfterWritable);
}

TEST(VirtioDescriptorChain, ZeroLengthDescriptorsAddNoSegment) {
    ChainRig rig;
    const Buffer buffers[] = {
        {rig.driver.alloc(8), 0}, {rig.driver.alloc(8), 8}, {rig.driver.alloc(8), 0, true}};
    const auto chain = rig.walk(rig.driver.write_chain(buffers));
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->readable().size(), 1u);
    EXPECT_TRUE(chain->writable().empty());
    EXPECT_EQ(chain->readable_bytes(), 8u);
    EXPECT_EQ(chain->descriptor_count(), 3u);
}

TEST(VirtioDescriptorChain, BufferInTheSecondRamRegionIsAccepted) {
    ChainRig rig;
    const Buffer buffers[] = {{kHighRam, 4096}, {kHighRamEnd - 16, 16, true}};
    const auto chain = rig.walk(rig.driver.write_chain(buffers));
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->readable_bytes(), 4096u);
    EXPECT_EQ(chain->writable_bytes(), 16u);
}

TEST(VirtioDescriptorChain, BufferStraddlingTheEndOfRamIsRefused) {
    ChainRig rig;
    const Buffer buffers[] = {{kRamEnd - 8, 9}};
    EXPECT_EQ(rig.walk(rig.driver.write_chain(buffers)).error(), ChainError::kBufferOutsideRam);
}

TEST(VirtioDescriptorChain, BufferOverDeviceMmioIsRefused) {
    ChainRig rig;
    const Buffer buffers[] = {{kHoleStart + 0x1000, 64, true}};
    EXPECT_EQ(rig.walk(rig.driver.write_chain(buffers)).error(), ChainError::kBufferOutsideRam);
}

TEST(VirtioDescriptorChain, BufferSpanningTwoRegionsAcrossTheHoleIsRefused) {
    ChainRig rig;
    const Buffer buffers[] = {{kRamEnd - 16, static_cast<uint32_t>(kHighRam - kRamEnd + 32)}};
    EXPECT_EQ(rig.walk(rig.driver.write_chain(buffers)).error(), ChainError::kBufferOutsideRam);
}

TEST(VirtioDescriptorChain, TotalOfExactly4GiBMinusOneIsAccepted) {
    // 1024 readable descriptors over the same 4 MiB (buffers may overlap), the last one byte
    // short: 2^32 - 1 bytes, the most the used ring's 32-bit len can report.
    ChainRig rig(1024);
    std::vector<Buffer> buffers(1024, Buffer{0, static_cast<uint32_t>(kRamEnd)});
    buffers.back().len -= 1;
    const auto chain = rig.walk(rig.driver.write_chain(buffers));
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->readable_bytes(), 0xFFFF'FFFFu);
    EXPECT_EQ(chain->reader().remaining(), 0xFFFF'FFFFu);
}

TEST(VirtioDescriptorChain, TotalOver4GiBIsRefused) {
    ChainRig rig(1024);
    std::vector<Buffer> buffers(1024, Buffer{0, static_cast<uint32_t>(kRamEnd)});
    EXPECT_EQ(rig.walk(rig.driver.write_chain(buffers)).error(), ChainError::kTooLarge);
}

TEST(VirtioDescriptorChain, IndirectTableIsWalkedInOrder) {
    ChainRig rig;
    const Buffer buffers[] = {
        {rig.driver.alloc(12), 12}, {rig.driver.alloc(100), 100}, {rig.driver.alloc(50), 50, true}};
    const uint64_t table = rig.driver.alloc(48);
    const uint16_t head = rig.driver.write_indirect_chain(buffers, table);
    const auto chain = rig.walk(head);
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->readable_bytes(), 112u);
    EXPECT_EQ(chain->writable_bytes(), 50u);
    EXPECT_EQ(chain->descriptor_count(), 4u);  // the indirect one and its three
    EXPECT_EQ(chain->readable()[0].iov_base,
              rig.memory.span(GuestAddress(buffers[0].addr), 12)->data());
}

TEST(VirtioDescriptorChain, IndirectTableFollowsDirectDescriptors) {
    // "The device MUST handle the case of zero or more normal chained descriptors followed by
    // a single descriptor with VIRTQ_DESC_F_INDIRECT."
    ChainRig rig;
    const uint64_t table = rig.driver.alloc(16);
    rig.driver.put(table, F{rig.driver.alloc(30), 30, kWrite, 0});
    rig.driver.set_descriptor(0, F{rig.driver.alloc(10), 10, kNext, 1});
    rig.driver.set_descriptor(1, F{table, 16, kIndirect, 0});
    const auto chain = rig.walk(0);
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->readable_bytes(), 10u);
    EXPECT_EQ(chain->writable_bytes(), 30u);
}

TEST(VirtioDescriptorChain, WriteFlagOnTheIndirectDescriptorItselfIsIgnored) {
    ChainRig rig;
    const uint64_t table = rig.driver.alloc(16);
    rig.driver.put(table, F{rig.driver.alloc(30), 30, 0, 0});
    rig.driver.set_descriptor(0, F{rig.driver.alloc(10), 10, kNext, 1});
    rig.driver.set_descriptor(1, F{table, 16, kIndirect | kWrite, 0});
    const auto chain = rig.walk(0);
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->readable_bytes(), 40u);
}

TEST(VirtioDescriptorChain, IndirectWithoutTheFeatureIsRefused) {
    ChainRig rig;
    const Buffer buffers[] = {{rig.driver.alloc(12), 12}};
    const uint16_t head = rig.driver.write_indirect_chain(buffers, rig.driver.alloc(16));
    EXPECT_EQ(rig.walk(head, false).error(), ChainError::kIndirectNotNegotiated);
}

TEST(VirtioDescriptorChain, IndirectInsideAnIndirectTableIsRefused) {
    ChainRig rig;
    const uint64_t inner = rig.driver.alloc(16);
    rig.driver.put(inner, F{rig.driver.alloc(8), 8, 0, 0});
    const uint64_t outer = rig.driver.alloc(16);
    rig.driver.put(outer, F{inner, 16, kIndirect, 0});
    rig.driver.set_descriptor(0, F{outer, 16, kIndirect, 0});
    EXPECT_EQ(rig.walk(0).error(), ChainError::kIndirectNested);
}

TEST(VirtioDescriptorChain, IndirectWithNextIsRefused) {
    ChainRig rig;
    const uint64_t table = rig.driver.alloc(16);
    rig.driver.put(table, F{rig.driver.alloc(8), 8, 0, 0});
    rig.driver.set_descriptor(0, F{table, 16, kIndirect | kNext, 1});
    rig.driver.set_descriptor(1, F{rig.driver.alloc(8), 8, kWrite, 0});
    EXPECT_EQ(rig.walk(0).error(), ChainError::kIndirectWithNext);
}

TEST(VirtioDescriptorChain, IndirectTableLengthMustBeANonZeroMultipleOf16) {
    ChainRig rig;
    const uint64_t table = rig.driver.alloc(64);
    for (const uint32_t length : {0u, 1u, 15u, 17u, 40u}) {
        rig.driver.set_descriptor(0, F{table, length, kIndirect, 0});
        EXPECT_EQ(rig.walk(0).error(), ChainError::kIndirectBadLength) << length;
    }
}

TEST(VirtioDescriptorChain, IndirectTableOutsideRamIsRefused) {
    ChainRig rig;
    for (const uint64_t address : {kHoleStart, kRamEnd - 16, kHighRamEnd, ~uint64_t{0} - 15}) {
        rig.driver.set_descriptor(0, F{address, 32, kIndirect, 0});
        EXPECT_EQ(rig.walk(0).error(), ChainError::kIndirectOutsideRam) << std::hex << address;
    }
}

TEST(VirtioDescriptorChain, IndirectNextBeyondTheTableIsRefused) {
    ChainRig rig;
    const uint64_t table = rig.driver.alloc(32);
    rig.driver.put(table, F{rig.driver.alloc(8), 8, kNext, 2});  // the table holds 2
    rig.driver.set_descriptor(0, F{table, 32, kIndirect, 0});
    EXPECT_EQ(rig.walk(0).error(), ChainError::kNextOutOfRange);
}

TEST(VirtioDescriptorChain, CycleInsideAnIndirectTableIsALoop) {
    ChainRig rig;
    const uint64_t table = rig.driver.alloc(32);
    const uint64_t buffer = rig.driver.alloc(8);
    rig.driver.put(table, F{buffer, 8, kNext, 1});
    rig.driver.put(table + 16, F{buffer, 8, kNext, 0});
    rig.driver.set_descriptor(0, F{table, 32, kIndirect, 0});
    EXPECT_EQ(rig.walk(0).error(), ChainError::kLoop);
}

TEST(VirtioDescriptorChain, IndirectTableLongerThanTheQueueIsAccepted) {
    // Linux's virtio_ring puts as many entries in an indirect table as the request has
    // segments, which may exceed a small queue's size.
    ChainRig rig(4);
    std::vector<Buffer> buffers(40, Buffer{rig.driver.alloc(8), 8});
    const uint16_t head = rig.driver.write_indirect_chain(buffers, rig.driver.alloc(16 * 40));
    const auto chain = rig.walk(head);
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->readable_bytes(), 320u);
    EXPECT_EQ(chain->descriptor_count(), 41u);
}

TEST(VirtioDescriptorChain, ReadableInTheIndirectTableAfterADirectWritableIsRefused) {
    ChainRig rig;
    const uint64_t table = rig.driver.alloc(16);
    rig.driver.put(table, F{rig.driver.alloc(8), 8, 0, 0});
    rig.driver.set_descriptor(0, F{rig.driver.alloc(8), 8, kWrite | kNext, 1});
    rig.driver.set_descriptor(1, F{table, 16, kIndirect, 0});
    EXPECT_EQ(rig.walk(0).error(), ChainError::kReadableAfterWritable);
}

TEST(VirtioDescriptorChain, EachErrorHasADescription) {
    for (int e = 0; e <= static_cast<int>(ChainError::kTooLarge); ++e) {
        EXPECT_FALSE(describe(static_cast<ChainError>(e)).starts_with("unknown"));
    }
}

}  // namespace
}  // namespace hvmm::virtio::testing
