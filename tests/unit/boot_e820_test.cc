#include "boot/e820.h"

#include <gtest/gtest.h>

namespace hvmm::boot {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

void expect_entry(const E820Entry& entry, uint64_t start, uint64_t end, uint32_t type) {
    EXPECT_EQ(entry.address, start);
    EXPECT_EQ(entry.address + entry.size, end);
    EXPECT_EQ(entry.type, type);
}

TEST(E820, SmallGuestHasLowRamTheLegacyHoleAndRamUpToItsEnd) {
    auto memory = GuestMemory::create(64 * kMiB);
    ASSERT_TRUE(memory);
    const auto map = build_e820_map(*memory);
    ASSERT_TRUE(map) << map.error().message;
    ASSERT_EQ(map->size(), 3u);
    expect_entry((*map)[0], 0, 0x9FC00, kE820Ram);
    expect_entry((*map)[1], 0x9FC00, 0x100000, kE820Reserved);
    expect_entry((*map)[2], 0x100000, 64 * kMiB, kE820Ram);
}

TEST(E820, ThreeGiBGuestEndsItsLowRamAtThePciHole) {
    auto memory = GuestMemory::create(3 * kGiB);
    ASSERT_TRUE(memory);
    const auto map = build_e820_map(*memory);
    ASSERT_TRUE(map) << map.error().message;
    ASSERT_EQ(map->size(), 3u);
    expect_entry((*map)[2], 0x100000, 3 * kGiB, kE820Ram);
}

TEST(E820, SixGiBGuestHasThreeGiBAboveFourGiB) {
    auto memory = GuestMemory::create(6 * kGiB);
    ASSERT_TRUE(memory);
    const auto map = build_e820_map(*memory);
    ASSERT_TRUE(map) << map.error().message;
    ASSERT_EQ(map->size(), 4u);
    expect_entry((*map)[0], 0, 0x9FC00, kE820Ram);
    expect_entry((*map)[1], 0x9FC00, 0x100000, kE820Reserved);
    expect_entry((*map)[2], 0x100000, 3 * kGiB, kE820Ram);
    expect_entry((*map)[3], 4 * kGiB, 7 * kGiB, kE820Ram);
}

TEST(E820, NoRangeOverlapsTheNextAndAllAreSorted) {
    auto memory = GuestMemory::create(6 * kGiB);
    ASSERT_TRUE(memory);
    const auto map = build_e820_map(*memory);
    ASSERT_TRUE(map);
    for (size_t i = 1; i < map->size(); ++i) {
        EXPECT_LE((*map)[i - 1].address + (*map)[i - 1].size, (*map)[i].address);
    }
}

TEST(E820, RegionAcrossTheLegacyHoleIsSplitAroundIt) {
    const std::pair<uint64_t, uint64_t> layout[] = {{0x80000, 2 * kMiB}};
    auto memory = GuestMemory::create_with_regions(layout);
    ASSERT_TRUE(memory);
    const auto map = build_e820_map(*memory);
    ASSERT_TRUE(map) << map.error().message;
    ASSERT_EQ(map->size(), 3u);
    expect_entry((*map)[0], 0x80000, 0x9FC00, kE820Ram);
    expect_entry((*map)[1], 0x9FC00, 0x100000, kE820Reserved);
    expect_entry((*map)[2], 0x100000, 0x80000 + 2 * kMiB, kE820Ram);
}

TEST(E820, TooManyRegionsAreRefused) {
    std::vector<std::pair<uint64_t, uint64_t>> layout;
    for (uint64_t i = 0; i < 130; ++i) {
        layout.emplace_back(16 * kMiB + i * 2 * 4096, 4096);
    }
    auto memory = GuestMemory::create_with_regions(layout);
    ASSERT_TRUE(memory);
    const auto map = build_e820_map(*memory);
    ASSERT_FALSE(map);
    EXPECT_EQ(map.error().message, "guest memory has 131 ranges; the e820 map holds at most 128");
}

}  // namespace
}  // namespace hvmm::boot
