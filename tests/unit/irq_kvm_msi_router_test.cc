// KvmMsiRouter's bookkeeping against a fake KVM: which table it hands KVM, which irqfds it
// assigns and deassigns in which order, how it fails, what it counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "irq/kvm_msi_router.h"

namespace hvmm {
namespace {

constexpr pci::MsiMessage kVectorA{0xFEE0'0000, 0x4041};
constexpr pci::MsiMessage kVectorB{0xFEE0'0000, 0x4042};

struct FakeKvm {
    std::vector<std::string> calls;
    std::vector<kvm::GsiRoute> table = default_irqchip_routes();
    bool refuse_routing = false;
    bool refuse_irqfd = false;
    bool refuse_signal = false;
    bool guest_blocks = false;

    size_t msi_routes() const {
        return static_cast<size_t>(std::count_if(table.begin(), table.end(), [](const auto& r) {
            return r.kind == kvm::GsiRoute::Kind::kMsi;
        }));
    }
};

class FakeOps final : public IrqRoutingOps {
  public:
    explicit FakeOps(FakeKvm& kvm) : kvm_(kvm) {}
    Result<void> set_gsi_routing(std::span<const kvm::GsiRoute> routes) override {
        kvm_.calls.push_back(fmt::format("routing {}", routes.size()));
        if (kvm_.refuse_routing)
            return fail("KVM_SET_GSI_ROUTING refused");
        kvm_.table.assign(routes.begin(), routes.end());
        return {};
    }
    Result<void> add_irqfd(int fd, uint32_t gsi) override {
        kvm_.calls.push_back(fmt::format("assign {} {}", fd, gsi));
        if (kvm_.refuse_irqfd)
            return fail("KVM_IRQFD refused");
        return {};
    }
    Result<void> remove_irqfd(int fd, uint32_t gsi) override {
        kvm_.calls.push_back(fmt::format("deassign {} {}", fd, gsi));
        return {};
    }
    Result<bool> signal_msi(uint64_t address, uint32_t data) override {
        kvm_.calls.push_back(fmt::format("signal {:#x} {:#x}", address, data));
        if (kvm_.refuse_signal)
            return fail("KVM_SIGNAL_MSI refused");
        return !kvm_.guest_blocks;
    }

  private:
    FakeKvm& kvm_;
};

class KvmMsiRouterTest : public ::testing::Test {
  protected:
    FakeKvm kvm;
    KvmMsiRouter router{std::make_unique<FakeOps>(kvm), 4096};
};

TEST_F(KvmMsiRouterTest, BindRoutesTheMessageThenAssignsTheIrqfd) {
    ASSERT_TRUE(router.bind(7, kVectorA));
    EXPECT_EQ(kvm.calls, (std::vector<std::string>{"routing 41", "assign 7 24"}));
    EXPECT_EQ(router.bound_gsi(7), 24u);
    EXPECT_EQ(kvm.table.back().msi_address, kVectorA.address);
    EXPECT_EQ(kvm.table.back().msi_data, kVectorA.data);
    EXPECT_EQ(router.counters().bindings, 1u);
    EXPECT_EQ(router.counters().routing_updates, 1u);
}

TEST_F(KvmMsiRouterTest, EveryTableKeepsTheIrqchipRoutes) {
    ASSERT_TRUE(router.bind(7, kVectorA));
    ASSERT_TRUE(router.bind(8, kVectorB));
    const auto defaults = default_irqchip_routes();
    ASSERT_GE(kvm.table.size(), defaults.size());
    EXPECT_TRUE(std::equal(defaults.begin(), defaults.end(), kvm.table.begin()));
    EXPECT_EQ(kvm.msi_routes(), 2u);
}

TEST_F(KvmMsiRouterTest, TwoFdsWithTheSameMessageShareOneGsiAndOneTableUpdate) {
    ASSERT_TRUE(router.bind(7, kVectorA));
    ASSERT_TRUE(router.bind(8, kVectorA));
    EXPECT_EQ(router.bound_gsi(8), router.bound_gsi(7));
    EXPECT_EQ(router.counters().routing_updates, 1u);
    router.unbind(7);
    EXPECT_EQ(kvm.msi_routes(), 1u);  // fd 8 still uses it
    router.unbind(8);
    EXPECT_EQ(kvm.msi_routes(), 0u);
    EXPECT_EQ(router.counters().routing_updates, 2u);
}

TEST_F(KvmMsiRouterTest, BindingAgainWithTheSameMessageChangesNothing) {
    ASSERT_TRUE(router.bind(7, kVectorA));
    kvm.calls.clear();
    ASSERT_TRUE(router.bind(7, kVectorA));
    EXPECT_TRUE(kvm.calls.empty());
}

TEST_F(KvmMsiRouterTest, RepointingAnFdDeassignsItFromTheOldGsiFirst) {
    ASSERT_TRUE(router.bind(7, kVectorA));
    kvm.calls.clear();
    ASSERT_TRUE(router.bind(7, kVectorB));
    // B takes the next GSI while A still holds 24; A's route goes with the table that brings B.
    EXPECT_EQ(kvm.calls, (std::vector<std::string>{"deassign 7 24", "routing 41", "assign 7 25"}));
    EXPECT_EQ(kvm.msi_routes(), 1u);
    EXPECT_EQ(kvm.table.back().msi_data, kVectorB.data);
}

TEST_F(KvmMsiRouterTest, RepointingOntoASharedMessageDropsTheOldRoute) {
    ASSERT_TRUE(router.bind(7, kVectorA));
    ASSERT_TRUE(router.bind(8, kVectorB));
    kvm.calls.clear();
    ASSERT_TRUE(router.bind(7, kVectorB));
    EXPECT_EQ(kvm.calls, (std::vector<std::string>{"deassign 7 24", "routing 41", "assign 7 25"}));
    EXPECT_EQ(kvm.msi_routes(), 1u);
}

TEST_F(KvmMsiRouterTest, UnbindDeassignsAndFreesTheRoute) {
    ASSERT_TRUE(router.bind(7, kVectorA));
    kvm.calls.clear();
    router.unbind(7);
    EXPECT_EQ(kvm.calls, (std::vector<std::string>{"deassign 7 24", "routing 40"}));
    EXPECT_EQ(router.bound_gsi(7), std::nullopt);
    EXPECT_EQ(router.counters().unbindings, 1u);
}

TEST_F(KvmMsiRouterTest, UnbindingAnUnboundFdDoesNothing) {
    router.unbind(7);
    EXPECT_TRUE(kvm.calls.empty());
    EXPECT_EQ(router.counters().unbindings, 0u);
}

TEST_F(KvmMsiRouterTest, ExhaustedGsisRefuseTheBindAndCountIt) {
    KvmMsiRouter small(std::make_unique<FakeOps>(kvm), 41);  // room for one MSI route
    ASSERT_TRUE(small.bind(7, kVectorA));
    const auto refused = small.bind(8, kVectorB);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("no GSI left"), std::string::npos);
    EXPECT_EQ(small.bound_gsi(8), std::nullopt);
    EXPECT_EQ(small.counters().failures, 1u);
    EXPECT_TRUE(small.bind(8, kVectorA));  // a shared message still fits
}

TEST_F(KvmMsiRouterTest, ARefusedTableLeavesTheFdUnboundAndTheGsiFree) {
    kvm.refuse_routing = true;
    ASSERT_FALSE(router.bind(7, kVectorA));
    EXPECT_EQ(router.bound_gsi(7), std::nullopt);
    EXPECT_EQ(router.counters().failures, 1u);
    kvm.refuse_routing = false;
    ASSERT_TRUE(router.bind(7, kVectorB));
    EXPECT_EQ(router.bound_gsi(7), 24u);  // the refused message took no GSI
}

TEST_F(KvmMsiRouterTest, ARefusedIrqfdLeavesTheFdUnboundAndItsRouteDroppedLater) {
    kvm.refuse_irqfd = true;
    ASSERT_FALSE(router.bind(7, kVectorA));
    EXPECT_EQ(router.bound_gsi(7), std::nullopt);
    kvm.refuse_irqfd = false;
    ASSERT_TRUE(router.bind(8, kVectorB));
    EXPECT_EQ(router.bound_gsi(8), 24u);
    EXPECT_EQ(kvm.msi_routes(), 1u);
}

TEST_F(KvmMsiRouterTest, SignalSendsTheMessageAndCountsIt) {
    router.signal(kVectorA);
    EXPECT_EQ(kvm.calls, (std::vector<std::string>{"signal 0xfee00000 0x4041"}));
    kvm.guest_blocks = true;
    router.signal(kVectorA);
    kvm.refuse_signal = true;
    router.signal(kVectorA);
    const auto counters = router.counters();
    EXPECT_EQ(counters.signals, 2u);
    EXPECT_EQ(counters.signals_blocked, 1u);
    EXPECT_EQ(counters.failures, 1u);
}

}  // namespace
}  // namespace hvmm
