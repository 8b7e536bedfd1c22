#include "boot/initrd.h"

#include <gtest/gtest.h>

namespace hvmm::boot {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

TEST(InitrdPlacement, GoesToTheTopOfLowRamPageAligned) {
    const auto address =
        place_initrd(5 * kMiB + 123, 20 * kMiB, 0x7FFF'FFFF, 256 * kMiB, 256 * kMiB);
    ASSERT_TRUE(address) << address.error().message;
    EXPECT_EQ(*address % 4096, 0u);
    EXPECT_LE(*address + 5 * kMiB + 123, 256 * kMiB);
    // The highest aligned address: one page lower would leave a whole page unused at the top.
    EXPECT_GT(*address + 4096 + 5 * kMiB + 123, 256 * kMiB);
    EXPECT_EQ(*address, (256 * kMiB - (5 * kMiB + 123)) & ~uint64_t{0xFFF});
}

TEST(InitrdPlacement, StaysBelowInitrdAddrMax) {
    // initrd_addr_max is the last byte the initrd may occupy.
    const auto address = place_initrd(kMiB, 20 * kMiB, 64 * kMiB - 1, 256 * kMiB, 256 * kMiB);
    ASSERT_TRUE(address) << address.error().message;
    EXPECT_EQ(*address, 63 * kMiB);
}

TEST(InitrdPlacement, InitrdAddrMaxAboveAllMemoryDoesNotWrap) {
    const auto address = place_initrd(kMiB, 20 * kMiB, ~uint64_t{0}, 256 * kMiB, 256 * kMiB);
    ASSERT_TRUE(address) << address.error().message;
    EXPECT_EQ(*address, 255 * kMiB);
}

TEST(InitrdPlacement, InitrdThatWouldOverlapTheKernelIsRefused) {
    const auto address = place_initrd(40 * kMiB, 30 * kMiB, 0x7FFF'FFFF, 64 * kMiB, 64 * kMiB);
    ASSERT_FALSE(address);
    EXPECT_EQ(address.error().message,
              "initrd of 40 MiB does not fit below 0x4000000 (above the kernel, which needs "
              "memory up to 0x1e00000) with 64 MiB of memory");
}

TEST(InitrdPlacement, InitrdLargerThanAllMemoryIsRefused) {
    const auto address = place_initrd(300 * kMiB, 0, 0x7FFF'FFFF, 256 * kMiB, 256 * kMiB);
    ASSERT_FALSE(address);
    EXPECT_NE(address.error().message.find("initrd of 300 MiB does not fit"), std::string::npos);
}

TEST(InitrdPlacement, InitrdThatFitsExactlyAboveTheKernelIsPlaced) {
    const auto address = place_initrd(34 * kMiB, 30 * kMiB, 0x7FFF'FFFF, 64 * kMiB, 64 * kMiB);
    ASSERT_TRUE(address) << address.error().message;
    EXPECT_EQ(*address, 30 * kMiB);
}

}  // namespace
}  // namespace hvmm::boot
