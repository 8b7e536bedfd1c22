// The GSI routing table computed without KVM: KVM's own irqchip routes kept in every table, one
// GSI per distinct MSI message, shared, reference counted, reused, bounded.
#include <gtest/gtest.h>

#include <linux/kvm.h>

#include <algorithm>

#include "irq/msi_routes.h"

namespace hvmm {
namespace {

using kvm::GsiRoute;

constexpr pci::MsiMessage kVectorA{0xFEE0'0000, 0x4041};
constexpr pci::MsiMessage kVectorB{0xFEE0'1000, 0x4042};
constexpr pci::MsiMessage kVectorC{0xFEE0'0000, 0x4043};

GsiRoute irqchip(uint32_t gsi, uint32_t chip, uint32_t pin) {
    return {.gsi = gsi, .irqchip = chip, .pin = pin};
}

GsiRoute msi(uint32_t gsi, pci::MsiMessage message) {
    return {.gsi = gsi,
            .kind = GsiRoute::Kind::kMsi,
            .msi_address = message.address,
            .msi_data = message.data};
}

size_t count(const std::vector<GsiRoute>& table, const GsiRoute& route) {
    return static_cast<size_t>(std::count(table.begin(), table.end(), route));
}

MsiGsiAllocator kvm_sized() {
    return MsiGsiAllocator(default_irqchip_routes(), kIoapicPinCount, 4096);
}

TEST(MsiRoutes, DefaultRoutesAreKvmsOwnIoapicAndPicPins) {
    const auto routes = default_irqchip_routes();
    ASSERT_EQ(routes.size(), 40u);  // 24 IOAPIC pins + 16 PIC pins
    for (uint32_t gsi = 0; gsi < 24; ++gsi) {
        EXPECT_EQ(count(routes, irqchip(gsi, KVM_IRQCHIP_IOAPIC, gsi)), 1u) << gsi;
    }
    for (uint32_t gsi = 0; gsi < 8; ++gsi) {
        EXPECT_EQ(count(routes, irqchip(gsi, KVM_IRQCHIP_PIC_MASTER, gsi)), 1u) << gsi;
        EXPECT_EQ(count(routes, irqchip(gsi + 8, KVM_IRQCHIP_PIC_SLAVE, gsi)), 1u) << gsi;
    }
    for (const auto& route : routes) {
        EXPECT_EQ(route.kind, GsiRoute::Kind::kIrqchip);
        if (route.irqchip != KVM_IRQCHIP_IOAPIC) {
            EXPECT_LT(route.gsi, 16u);
        }
    }
}

TEST(MsiRoutes, FirstMessageTakesTheFirstGsiAboveTheIoapicPins) {
    auto allocator = kvm_sized();
    auto acquired = allocator.acquire(kVectorA);
    ASSERT_TRUE(acquired) << acquired.error().message;
    EXPECT_EQ(acquired->gsi, 24u);
    EXPECT_TRUE(acquired->new_route);
}

TEST(MsiRoutes, TableIsTheIrqchipRoutesThenOneMsiRoutePerMessageInGsiOrder) {
    auto allocator = kvm_sized();
    ASSERT_TRUE(allocator.acquire(kVectorB));
    ASSERT_TRUE(allocator.acquire(kVectorA));
    auto expected = default_irqchip_routes();
    expected.push_back(msi(24, kVectorB));
    expected.push_back(msi(25, kVectorA));
    EXPECT_EQ(allocator.routing_table(), expected);
}

TEST(MsiRoutes, TheSameMessageSharesItsGsiWithoutChangingTheTable) {
    auto allocator = kvm_sized();
    const auto first = allocator.acquire(kVectorA);
    const auto second = allocator.acquire(kVectorA);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->gsi, second->gsi);
    EXPECT_FALSE(second->new_route);
    EXPECT_EQ(allocator.users_of(first->gsi), 2u);
    EXPECT_EQ(allocator.message_count(), 1u);
}

TEST(MsiRoutes, AMessageDifferingOnlyInDataGetsItsOwnGsi) {
    auto allocator = kvm_sized();
    const auto a = allocator.acquire(kVectorA);
    const auto c = allocator.acquire(kVectorC);
    ASSERT_TRUE(a && c);
    EXPECT_NE(a->gsi, c->gsi);
}

TEST(MsiRoutes, RouteStaysUntilItsLastUserReleasesIt) {
    auto allocator = kvm_sized();
    const uint32_t gsi = allocator.acquire(kVectorA)->gsi;
    ASSERT_TRUE(allocator.acquire(kVectorA));
    EXPECT_FALSE(allocator.release(gsi));
    EXPECT_EQ(allocator.message_of(gsi), kVectorA);
    EXPECT_TRUE(allocator.release(gsi));
    EXPECT_EQ(allocator.message_of(gsi), std::nullopt);
    EXPECT_EQ(allocator.routing_table(), default_irqchip_routes());
}

TEST(MsiRoutes, AFreedGsiIsReusedBeforeAHigherOne) {
    auto allocator = kvm_sized();
    const uint32_t a = allocator.acquire(kVectorA)->gsi;
    const uint32_t b = allocator.acquire(kVectorB)->gsi;
    ASSERT_TRUE(allocator.release(a));
    const auto c = allocator.acquire(kVectorC);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->gsi, a);
    EXPECT_EQ(allocator.message_of(b), kVectorB);
}

TEST(MsiRoutes, ExhaustedGsiSpaceRefusesANewMessageButStillSharesAnOldOne) {
    // 40 irqchip entries + 2 MSI routes = 42: the table bound is KVM's entry limit.
    MsiGsiAllocator allocator(default_irqchip_routes(), kIoapicPinCount, 42);
    EXPECT_EQ(allocator.capacity(), 2u);
    ASSERT_TRUE(allocator.acquire(kVectorA));
    ASSERT_TRUE(allocator.acquire(kVectorB));
    const auto refused = allocator.acquire(kVectorC);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("no GSI left"), std::string::npos);
    EXPECT_TRUE(allocator.acquire(kVectorA));  // shares: needs no new GSI
    EXPECT_EQ(allocator.message_count(), 2u);
}

TEST(MsiRoutes, GsiNumbersAreBoundedByTheLimitToo) {
    // No fixed routes, GSIs 24..25 only.
    MsiGsiAllocator allocator({}, kIoapicPinCount, 26);
    EXPECT_EQ(allocator.capacity(), 2u);
    EXPECT_EQ(allocator.acquire(kVectorA)->gsi, 24u);
    EXPECT_EQ(allocator.acquire(kVectorB)->gsi, 25u);
    EXPECT_FALSE(allocator.acquire(kVectorC));
}

TEST(MsiRoutes, ALimitBelowTheIrqchipRoutesLeavesNoCapacity) {
    MsiGsiAllocator allocator(default_irqchip_routes(), kIoapicPinCount, 24);
    EXPECT_EQ(allocator.capacity(), 0u);
    EXPECT_FALSE(allocator.acquire(kVectorA));
}

TEST(MsiRoutesDeathTest, ReleasingAGsiThatCarriesNothingAborts) {
    auto allocator = kvm_sized();
    EXPECT_DEATH(allocator.release(24), "carries no message");
}

}  // namespace
}  // namespace hvmm
