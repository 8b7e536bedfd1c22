#include "memory/guest_memory.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>

namespace hvmm {
namespace {

TEST(GuestMemory, SmallGuestIsOneRegionBelowThePciHole) {
    auto memory = GuestMemory::create(256ull << 20);
    ASSERT_TRUE(memory);
    ASSERT_EQ(memory->regions().size(), 1u);
    EXPECT_EQ(memory->low_ram_end(), 256ull << 20);
}

TEST(GuestMemory, LargeGuestSkipsThePciHole) {
    auto memory = GuestMemory::create(4ull << 30);
    ASSERT_TRUE(memory);
    ASSERT_EQ(memory->regions().size(), 2u);
    EXPECT_EQ(memory->regions()[0].size, GuestMemory::kPciHoleStart);
    EXPECT_EQ(memory->regions()[1].guest_base.value, GuestMemory::kPciHoleEnd);
    EXPECT_EQ(memory->total_size(), 4ull << 30);
    EXPECT_FALSE(memory->contains(GuestAddress(GuestMemory::kPciHoleStart), 1));
    EXPECT_TRUE(memory->contains(GuestAddress(GuestMemory::kPciHoleEnd), 4096));
}

TEST(GuestMemory, TooLittleMemoryIsRefusedWithItsSize) {
    auto memory = GuestMemory::create(16ull << 20);
    ASSERT_FALSE(memory);
    EXPECT_NE(memory.error().message.find("16 MiB"), std::string::npos);
}

TEST(GuestMemory, RangesThatOverflowOrLeaveRamAreRefused) {
    auto memory = GuestMemory::create(64ull << 20);
    ASSERT_TRUE(memory);
    const uint64_t end = 64ull << 20;
    EXPECT_TRUE(memory->contains(GuestAddress(end - 8), 8));
    EXPECT_FALSE(memory->contains(GuestAddress(end - 8), 9));
    EXPECT_FALSE(memory->contains(GuestAddress(end), 1));
    EXPECT_TRUE(memory->contains(GuestAddress(end), 0));
    EXPECT_FALSE(memory->contains(GuestAddress(8), std::numeric_limits<uint64_t>::max()));
    EXPECT_FALSE(memory->contains(GuestAddress(std::numeric_limits<uint64_t>::max()), 2));
}

TEST(GuestMemory, RangeStraddlingTwoRegionsIsRefused) {
    const std::array<std::pair<uint64_t, uint64_t>, 2> layout{{{0, 0x1000}, {0x1000, 0x1000}}};
    auto memory = GuestMemory::create_with_regions(layout);
    ASSERT_TRUE(memory);
    EXPECT_TRUE(memory->contains(GuestAddress(0xff0), 0x10));
    EXPECT_FALSE(memory->contains(GuestAddress(0xff0), 0x20));
    std::array<uint8_t, 0x20> buffer{};
    EXPECT_FALSE(memory->read(GuestAddress(0xff0), buffer));
}

TEST(GuestMemory, OverlappingRegionsAreRefused) {
    const std::array<std::pair<uint64_t, uint64_t>, 2> layout{{{0, 0x2000}, {0x1000, 0x1000}}};
    EXPECT_FALSE(GuestMemory::create_with_regions(layout));
}

TEST(GuestMemory, ValuesRoundTripLittleEndian) {
    auto memory = GuestMemory::create(64ull << 20);
    ASSERT_TRUE(memory);
    ASSERT_TRUE(memory->write_obj<uint32_t>(GuestAddress(0x1000), 0x11223344));
    EXPECT_EQ(memory->read_obj<uint8_t>(GuestAddress(0x1000)), 0x44);
    EXPECT_EQ(memory->read_obj<uint32_t>(GuestAddress(0x1000)), 0x11223344u);
    EXPECT_FALSE(memory->read_obj<uint32_t>(GuestAddress((64ull << 20) - 2)));
}

}  // namespace
}  // namespace hvmm

namespace hvmm {
namespace {

// KVM can back a 2 MiB guest page with one nested-paging entry only if the host mapping is
// 2 MiB aligned as well.
TEST(GuestMemory, RegionsAreHugePageAligned) {
    auto memory = GuestMemory::create(4ull << 30);
    ASSERT_TRUE(memory);
    for (const auto& region : memory->regions()) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(region.host) % (2ull << 20), 0u);
    }
    // The whole range is usable after the trimming.
    const auto& last = memory->regions().back();
    EXPECT_TRUE(memory->write_obj<uint64_t>(GuestAddress(last.guest_base.value + last.size - 8), 42));
}

}  // namespace
}  // namespace hvmm
