// BarEventfdRegistry against a fake KVM: ioeventfds and coalesced zones follow their BAR where
// the guest maps it, move with it, leave with it, for I/O and memory BARs alike.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vmm/bar_eventfd_registry.h"

namespace hvmm {
namespace {

using pci::BarKind;

class Window final : public BusDevice {
  public:
    void read(const BusAccess&, std::span<uint8_t>) override {}
    void write(const BusAccess&, std::span<const uint8_t>) override {}
    std::string_view name() const override { return "window"; }
};

struct FakeKvm {
    std::vector<std::string> calls;
    bool refuse = false;
};

std::string describe(std::optional<uint64_t> value) {
    return value ? fmt::format("={:#x}", *value) : "";
}

class FakeOps final : public IoShortcutOps {
  public:
    explicit FakeOps(FakeKvm& kvm) : kvm_(kvm) {}
    Result<void> add_ioeventfd(int fd, uint64_t address, uint32_t width, bool pio,
                               std::optional<uint64_t> value) override {
        kvm_.calls.push_back(fmt::format("add {} {} {:#x}/{}{}", fd, pio ? "pio" : "mmio", address,
                                         width, describe(value)));
        if (kvm_.refuse)
            return fail("KVM_IOEVENTFD refused");
        return {};
    }
    Result<void> remove_ioeventfd(int fd, uint64_t address, uint32_t width, bool pio,
                                  std::optional<uint64_t> value) override {
        kvm_.calls.push_back(fmt::format("remove {} {} {:#x}/{}{}", fd, pio ? "pio" : "mmio",
                                         address, width, describe(value)));
        return {};
    }
    Result<void> register_coalesced(uint64_t address, uint32_t length, bool pio) override {
        kvm_.calls.push_back(
            fmt::format("coalesce {} {:#x}/{}", pio ? "pio" : "mmio", address, length));
        if (kvm_.refuse)
            return fail("KVM_REGISTER_COALESCED_MMIO refused");
        return {};
    }
    Result<void> unregister_coalesced(uint64_t address, uint32_t length, bool pio) override {
        kvm_.calls.push_back(
            fmt::format("uncoalesce {} {:#x}/{}", pio ? "pio" : "mmio", address, length));
        return {};
    }

  private:
    FakeKvm& kvm_;
};

using Calls = std::vector<std::string>;

class BarEventfdRegistryTest : public ::testing::Test {
  protected:
    Calls take_calls() { return std::exchange(kvm.calls, {}); }

    FakeKvm kvm;
    BarEventfdRegistry registry{std::make_unique<FakeOps>(kvm)};
    Window window;
    Window other;
};

TEST_F(BarEventfdRegistryTest, ABindingWaitsForItsBarToBeMapped) {
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0x3000, 2, std::nullopt));
    EXPECT_TRUE(take_calls().empty());
    registry.bar_changed(window, BarKind::kMmio, 0xE000'0000);
    EXPECT_EQ(take_calls(), Calls{"add 5 mmio 0xe0003000/2"});
    EXPECT_EQ(registry.registered_eventfds(), 1u);
}

TEST_F(BarEventfdRegistryTest, ABindingOnAMappedBarIsRegisteredAtOnce) {
    registry.bar_changed(window, BarKind::kMmio, 0xE000'0000);
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0x3004, 2, std::nullopt));
    EXPECT_EQ(take_calls(), Calls{"add 5 mmio 0xe0003004/2"});
}

TEST_F(BarEventfdRegistryTest, ABarMoveMovesTheBinding) {
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0x3000, 2, std::nullopt));
    registry.bar_changed(window, BarKind::kMmio, 0xE000'0000);
    take_calls();
    registry.bar_changed(window, BarKind::kMmio, 0xE010'0000);
    EXPECT_EQ(take_calls(), (Calls{"remove 5 mmio 0xe0003000/2", "add 5 mmio 0xe0103000/2"}));
}

TEST_F(BarEventfdRegistryTest, UnmappingOrDecodeOffRemovesTheBindingAndRemappingRestoresIt) {
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0x3000, 2, std::nullopt));
    registry.bar_changed(window, BarKind::kMmio, 0xE000'0000);
    take_calls();
    registry.bar_changed(window, BarKind::kMmio, std::nullopt);
    EXPECT_EQ(take_calls(), Calls{"remove 5 mmio 0xe0003000/2"});
    EXPECT_EQ(registry.registered_eventfds(), 0u);
    registry.bar_changed(window, BarKind::kMmio, 0xE000'0000);
    EXPECT_EQ(take_calls(), Calls{"add 5 mmio 0xe0003000/2"});
}

TEST_F(BarEventfdRegistryTest, AnotherWindowsChangeLeavesTheBindingAlone) {
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0x3000, 2, std::nullopt));
    registry.bar_changed(window, BarKind::kMmio, 0xE000'0000);
    take_calls();
    registry.bar_changed(other, BarKind::kMmio, 0xE020'0000);
    registry.bar_changed(other, BarKind::kMmio, std::nullopt);
    EXPECT_TRUE(take_calls().empty());
}

TEST_F(BarEventfdRegistryTest, BindingTheSameFdAgainMovesItWithinTheWindow) {
    registry.bar_changed(window, BarKind::kIo, 0xC000);
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kIo, 5, 0x12, 2, 0));
    take_calls();
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kIo, 5, 0x14, 4, 0));
    EXPECT_EQ(take_calls(), (Calls{"remove 5 pio 0xc012/2=0x0", "add 5 pio 0xc014/4=0x0"}));
}

TEST_F(BarEventfdRegistryTest, PioBindingsCarryTheirDatamatchValue) {
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kIo, 6, 0x10, 2, 0x48));
    registry.bar_changed(window, BarKind::kIo, 0xC000);
    EXPECT_EQ(take_calls(), Calls{"add 6 pio 0xc010/2=0x48"});
}

TEST_F(BarEventfdRegistryTest, UnbindRemovesTheBindingForGood) {
    registry.bar_changed(window, BarKind::kMmio, 0xE000'0000);
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0x3000, 2, std::nullopt));
    take_calls();
    registry.unbind_eventfd(window, 5);
    EXPECT_EQ(take_calls(), Calls{"remove 5 mmio 0xe0003000/2"});
    registry.bar_changed(window, BarKind::kMmio, 0xE010'0000);
    EXPECT_TRUE(take_calls().empty());
    registry.unbind_eventfd(window, 5);  // not bound any more: nothing
    EXPECT_TRUE(take_calls().empty());
}

TEST_F(BarEventfdRegistryTest, SeveralFdsOnOneWindowMoveTogether) {
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0x3000, 2, std::nullopt));
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kMmio, 6, 0x3004, 2, std::nullopt));
    registry.bar_changed(window, BarKind::kMmio, 0xE000'0000);
    EXPECT_EQ(take_calls(), (Calls{"add 5 mmio 0xe0003000/2", "add 6 mmio 0xe0003004/2"}));
    EXPECT_EQ(registry.registered_eventfds(), 2u);
}

TEST_F(BarEventfdRegistryTest, WidthsKvmCannotMatchAreRefused) {
    EXPECT_FALSE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0, 3, std::nullopt));
    EXPECT_FALSE(registry.bind_eventfd(window, BarKind::kIo, 5, 0, 0, std::nullopt));
    EXPECT_FALSE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0, 0, 1));
    EXPECT_FALSE(registry.bind_eventfd(window, BarKind::kMmio, -1, 0, 2, std::nullopt));
    EXPECT_TRUE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0, 0, std::nullopt));
}

TEST_F(BarEventfdRegistryTest, APortPastTheIoSpaceIsRefusedAndCounted) {
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kIo, 5, 0x1F, 2, std::nullopt));
    registry.bar_changed(window, BarKind::kIo, 0xFFE0);  // 0xFFFF + 2 bytes: past the end
    EXPECT_TRUE(take_calls().empty());
    EXPECT_EQ(registry.counters().refusals, 1u);
}

TEST_F(BarEventfdRegistryTest, AKvmRefusalIsCountedAndTheBindingRetriedAtTheNextMove) {
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0x3000, 2, std::nullopt));
    kvm.refuse = true;
    registry.bar_changed(window, BarKind::kMmio, 0xE000'0000);
    EXPECT_EQ(registry.counters().refusals, 1u);
    EXPECT_EQ(registry.registered_eventfds(), 0u);
    kvm.refuse = false;
    take_calls();
    registry.bar_changed(window, BarKind::kMmio, 0xE010'0000);
    // Nothing to remove: KVM never had it.
    EXPECT_EQ(take_calls(), Calls{"add 5 mmio 0xe0103000/2"});
}

TEST_F(BarEventfdRegistryTest, ACoalescedZoneFollowsItsBarAndMovesWithinIt) {
    registry.coalesce_writes(window, BarKind::kIo, 0x12, 2);
    EXPECT_TRUE(take_calls().empty());
    registry.bar_changed(window, BarKind::kIo, 0xC000);
    EXPECT_EQ(take_calls(), Calls{"coalesce pio 0xc012/2"});
    registry.coalesce_writes(window, BarKind::kIo, 0x12, 2);  // unchanged: KVM left alone
    EXPECT_TRUE(take_calls().empty());
    registry.coalesce_writes(window, BarKind::kIo, 0x14, 4);
    EXPECT_EQ(take_calls(), (Calls{"uncoalesce pio 0xc012/2", "coalesce pio 0xc014/4"}));
    registry.bar_changed(window, BarKind::kIo, 0xC100);
    EXPECT_EQ(take_calls(), (Calls{"uncoalesce pio 0xc014/4", "coalesce pio 0xc114/4"}));
    registry.coalesce_writes(window, BarKind::kIo, 0x14, 0);
    EXPECT_EQ(take_calls(), Calls{"uncoalesce pio 0xc114/4"});
}

TEST_F(BarEventfdRegistryTest, AnMmioCoalescedZoneUsesTheMmioSpace) {
    registry.bar_changed(window, BarKind::kMmio, 0xE000'0000);
    registry.coalesce_writes(window, BarKind::kMmio, 0x100, 8);
    EXPECT_EQ(take_calls(), Calls{"coalesce mmio 0xe0000100/8"});
}

TEST_F(BarEventfdRegistryTest, CountersTellRegistrationsFromRemovals) {
    ASSERT_TRUE(registry.bind_eventfd(window, BarKind::kMmio, 5, 0x3000, 2, std::nullopt));
    registry.bar_changed(window, BarKind::kMmio, 0xE000'0000);
    registry.bar_changed(window, BarKind::kMmio, std::nullopt);
    const auto counters = registry.counters();
    EXPECT_EQ(counters.registrations, 1u);
    EXPECT_EQ(counters.removals, 1u);
    EXPECT_EQ(counters.refusals, 0u);
}

}  // namespace
}  // namespace hvmm
