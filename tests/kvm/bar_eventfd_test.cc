// BarEventfdRegistry on this host's KVM: a tiny guest's writes to a BAR window signal the bound
// eventfd inside KVM (no exit), at the BAR's new place after a move, and exit again once the
// BAR is unmapped; a port binding with a value signals only for that value.
#include <gtest/gtest.h>

#include <linux/kvm.h>

#include <initializer_list>
#include <variant>
#include <vector>

#include "base/event_fd.h"
#include "long_mode_guest.h"
#include "recording_device.h"
#include "vmm/bar_eventfd_registry.h"

namespace hvmm::test {
namespace {

using Bytes = std::vector<uint8_t>;
using pci::BarKind;

void append_le(Bytes& code, uint64_t value, int size) {
    for (int i = 0; i < size; ++i) code.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// mov rax, address; mov word [rax], value: the 16-bit write a virtio driver makes to notify.
Bytes write16(uint64_t address, uint16_t value) {
    Bytes code = {0x48, 0xB8};
    append_le(code, address, 8);
    code.insert(code.end(), {0x66, 0xC7, 0x00});
    append_le(code, value, 2);
    return code;
}

// mov rax, address; mov dword [rax], value.
Bytes write32(uint64_t address, uint32_t value) {
    Bytes code = {0x48, 0xB8};
    append_le(code, address, 8);
    code.insert(code.end(), {0xC7, 0x00});
    append_le(code, value, 4);
    return code;
}

// mov dx, port; mov ax, value; out dx, ax (0x66: 16-bit operands in long mode).
Bytes out16(uint16_t port, uint16_t value) {
    Bytes code = {0x66, 0xBA};
    append_le(code, port, 2);
    code.insert(code.end(), {0x66, 0xB8});
    append_le(code, value, 2);
    code.insert(code.end(), {0x66, 0xEF});
    return code;
}

Bytes program(std::initializer_list<Bytes> parts) {
    Bytes all;
    for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
    all.push_back(0xF4);  // hlt
    return all;
}

constexpr uint64_t kBarA = LongModeGuest::kMmioAddress;
constexpr uint64_t kBarB = LongModeGuest::kMmioAddress + 0x10'0000;
constexpr uint64_t kBarSize = 0x4000;
constexpr uint64_t kNotifyOffset = 0x3000;  // a queue's notify address inside the window

class BarEventfdKvmTest : public ::testing::Test {
  protected:
    void start(const Bytes& code) {
        auto made = LongModeGuest::create(code);
        ASSERT_TRUE(made) << made.error().message;
        guest = std::move(*made);
        registry = std::make_unique<BarEventfdRegistry>(make_vm_io_shortcut_ops(guest->vm()));
        auto made_fd = EventFd::create();
        ASSERT_TRUE(made_fd) << made_fd.error().message;
        kick.emplace(std::move(*made_fd));
    }
    // What Machine::apply_bar_change does: the bus first, then the registry.
    void map_mmio(std::optional<uint64_t> old_base, std::optional<uint64_t> new_base) {
        if (old_base)
            guest->mmio_bus.remove(window, *old_base);
        if (new_base) {
            ASSERT_TRUE(guest->mmio_bus.insert(window, *new_base, kBarSize));
        }
        registry->bar_changed(window, BarKind::kMmio, new_base);
    }
    void run_to_halt() {
        auto exit = guest->run_until_stop();
        ASSERT_TRUE(exit) << exit.error().message;
        ASSERT_TRUE(std::holds_alternative<kvm::exit::Hlt>(*exit)) << "exit " << exit->index();
    }
    uint64_t mmio_write_exits() const {
        return guest->stats.exits(stats::ExitKind::kMmioWrite).count;
    }

    RecordingDevice window{"virtio-notify"};
    std::unique_ptr<LongModeGuest> guest;
    std::unique_ptr<BarEventfdRegistry> registry;
    std::optional<EventFd> kick;
};

TEST_F(BarEventfdKvmTest, AnMmioNotifyWriteSignalsTheEventfdWithoutAnExit) {
    start(program({write16(kBarA + kNotifyOffset, 0)}));
    ASSERT_TRUE(
        registry->bind_eventfd(window, BarKind::kMmio, kick->fd(), kNotifyOffset, 2, std::nullopt));
    map_mmio(std::nullopt, kBarA);
    ASSERT_EQ(registry->registered_eventfds(), 1u) << "KVM refused the MMIO ioeventfd";
    run_to_halt();
    EXPECT_EQ(kick->consume(), 1u);
    EXPECT_TRUE(window.accesses().empty());
    EXPECT_EQ(mmio_write_exits(), 0u);
}

TEST_F(BarEventfdKvmTest, AWriteOfAnotherWidthStillExitsToTheWindow) {
    start(program({write32(kBarA + kNotifyOffset, 0)}));
    ASSERT_TRUE(
        registry->bind_eventfd(window, BarKind::kMmio, kick->fd(), kNotifyOffset, 2, std::nullopt));
    map_mmio(std::nullopt, kBarA);
    run_to_halt();
    EXPECT_EQ(kick->consume(), 0u);
    ASSERT_EQ(window.accesses().size(), 1u);
    EXPECT_EQ(window.accesses()[0].offset, kNotifyOffset);
}

TEST_F(BarEventfdKvmTest, AnAnyWidthMmioBindingCatchesWritesOfEveryWidth) {
    start(program({write16(kBarA + kNotifyOffset, 0), write32(kBarA + kNotifyOffset, 0)}));
    if (guest->vm().check_extension(KVM_CAP_IOEVENTFD_ANY_LENGTH) <= 0) {
        GTEST_SKIP() << "host capability missing: KVM_CAP_IOEVENTFD_ANY_LENGTH";
    }
    ASSERT_TRUE(
        registry->bind_eventfd(window, BarKind::kMmio, kick->fd(), kNotifyOffset, 0, std::nullopt));
    map_mmio(std::nullopt, kBarA);
    ASSERT_EQ(registry->registered_eventfds(), 1u);
    run_to_halt();
    EXPECT_EQ(kick->consume(), 2u);
    EXPECT_TRUE(window.accesses().empty());
    EXPECT_EQ(mmio_write_exits(), 0u);
}

TEST_F(BarEventfdKvmTest, TheBindingFollowsABarMove) {
    // The write to the old place exits (nothing is mapped there); the one to the new place
    // signals the eventfd.
    start(program({write16(kBarA + kNotifyOffset, 0), write16(kBarB + kNotifyOffset, 0)}));
    ASSERT_TRUE(
        registry->bind_eventfd(window, BarKind::kMmio, kick->fd(), kNotifyOffset, 2, std::nullopt));
    map_mmio(std::nullopt, kBarA);
    map_mmio(kBarA, kBarB);
    run_to_halt();
    EXPECT_EQ(kick->consume(), 1u);
    EXPECT_TRUE(window.accesses().empty());
    EXPECT_EQ(mmio_write_exits(), 1u);
}

TEST_F(BarEventfdKvmTest, TheBindingIsRemovedWhenTheBarIsUnmapped) {
    start(program({write16(kBarA + kNotifyOffset, 0)}));
    ASSERT_TRUE(
        registry->bind_eventfd(window, BarKind::kMmio, kick->fd(), kNotifyOffset, 2, std::nullopt));
    map_mmio(std::nullopt, kBarA);
    // Decode off: the registry lets go; the window stays on the bus here only so the test can
    // see the write exit to it.
    registry->bar_changed(window, BarKind::kMmio, std::nullopt);
    run_to_halt();
    EXPECT_EQ(kick->consume(), 0u);
    ASSERT_EQ(window.accesses().size(), 1u);
    EXPECT_EQ(window.accesses()[0].address, kBarA + kNotifyOffset);
}

TEST_F(BarEventfdKvmTest, UnbindGivesTheWriteBackToTheWindow) {
    start(program({write16(kBarA + kNotifyOffset, 0)}));
    map_mmio(std::nullopt, kBarA);
    ASSERT_TRUE(
        registry->bind_eventfd(window, BarKind::kMmio, kick->fd(), kNotifyOffset, 2, std::nullopt));
    registry->unbind_eventfd(window, kick->fd());
    run_to_halt();
    EXPECT_EQ(kick->consume(), 0u);
    EXPECT_EQ(window.accesses().size(), 1u);
}

TEST_F(BarEventfdKvmTest, APortBindingWithAValueSignalsOnlyForThatValue) {
    constexpr uint16_t kIoBase = 0xC000;
    start(program({out16(kIoBase + 0x10, 0x48), out16(kIoBase + 0x10, 0x47)}));
    ASSERT_TRUE(guest->io_bus.insert(window, kIoBase, 0x20));
    ASSERT_TRUE(registry->bind_eventfd(window, BarKind::kIo, kick->fd(), 0x10, 2, 0x48));
    registry->bar_changed(window, BarKind::kIo, kIoBase);
    run_to_halt();
    EXPECT_EQ(kick->consume(), 1u);
    const std::vector<RecordedAccess> expected = {{true, kIoBase + 0x10u, 0x10, {0x47, 0x00}}};
    EXPECT_EQ(window.accesses(), expected);
}

}  // namespace
}  // namespace hvmm::test
