// The Machine's side of issue 9's wiring on this host's KVM: bind_bar_eventfd() on a PCI
// function's memory BAR is registered where the host bridge places the BAR, and leaves KVM when
// the guest turns the function's memory decode off (through the real conf1 ports); the machine's
// MSI router is made on first use and routes a message.
#include <gtest/gtest.h>

#include <array>

#include "base/event_fd.h"
#include "recording_device.h"
#include "vmm/machine.h"

namespace hvmm {
namespace {

class MmioBarFunction final : public pci::ConfigSpaceFunction {
  public:
    static constexpr uint32_t kBarSize = 0x4000;
    MmioBarFunction() : ConfigSpaceFunction(identity()) {
        EXPECT_TRUE(config_.define_bar(0, {pci::BarKind::kMmio, kBarSize, false}));
        EXPECT_TRUE(config_.define_bar(1, {pci::BarKind::kIo, 0x20, false}));
    }
    BusDevice* bar_device(int index) override {
        return index == 0 ? &window : index == 1 ? &io_window : nullptr;
    }
    std::string_view name() const override { return "mmio-bar-function"; }

    test::RecordingDevice window{"notify-window"};
    test::RecordingDevice io_window{"io-window"};

  private:
    static pci::FunctionIdentity identity() {
        pci::FunctionIdentity id;
        id.vendor_id = 0x1AF4;
        id.device_id = 0x1041;
        id.class_code = 0x020000;
        return id;
    }
};

// A 32-bit conf1 write, as a guest makes it: address to 0xCF8, data to 0xCFC.
void config_write32(Machine& machine, uint8_t slot, uint8_t offset, uint32_t value) {
    const uint32_t address = 0x8000'0000u | (uint32_t{slot} << 11) | offset;
    std::array<uint8_t, 4> bytes{};
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(address >> (8 * i));
    machine.io_bus().write(0xCF8, bytes, 0);
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
    machine.io_bus().write(0xCFC, bytes, 0);
}

TEST(MachineBarEventfd, AnMmioBindingFollowsTheBarTheBridgePlacesAndTheDecodeBit) {
    MmioBarFunction function;  // outlives the machine's bridge
    MachineConfig config;
    config.memory_bytes = 64ull << 20;
    config.console_input = false;
    auto machine = Machine::create(config);
    ASSERT_TRUE(machine) << machine.error().message;
    auto slot = (*machine)->add_pci_function(function);
    ASSERT_TRUE(slot) << slot.error().message;
    auto kick = EventFd::create();
    ASSERT_TRUE(kick);

    ASSERT_TRUE((*machine)->bind_bar_eventfd(function.window, pci::BarKind::kMmio, kick->fd(),
                                             0x3000, 2, std::nullopt));
    auto& registry = (*machine)->bar_eventfds();
    EXPECT_EQ(registry.registered_eventfds(), 0u);  // the BAR is not placed yet

    ASSERT_TRUE((*machine)->pci_host().assign_initial_resources());
    EXPECT_EQ(registry.registered_eventfds(), 1u);
    EXPECT_EQ(registry.counters().refusals, 0u);

    // The guest turns memory decode off: the BAR leaves the bus and the binding leaves KVM.
    config_write32(**machine, *slot, 0x04, 0);
    EXPECT_EQ(registry.registered_eventfds(), 0u);
    // ...and on again: back where the BAR is.
    config_write32(**machine, *slot, 0x04, uint32_t{1} << 1);
    EXPECT_EQ(registry.registered_eventfds(), 1u);

    (*machine)->unbind_bar_eventfd(function.window, kick->fd());
    EXPECT_EQ(registry.registered_eventfds(), 0u);
    EXPECT_EQ(registry.counters().refusals, 0u);
}

TEST(MachineBarEventfd, AnIoPortBindingIsPlacedWithTheBarAndMovedWithinIt) {
    // The PCnet's silent transmit demand: bound before the BARs are placed, re-bound at another
    // offset when the driver switches the register layout.
    MmioBarFunction function;
    MachineConfig config;
    config.memory_bytes = 64ull << 20;
    config.console_input = false;
    auto machine = Machine::create(config);
    ASSERT_TRUE(machine) << machine.error().message;
    ASSERT_TRUE((*machine)->add_pci_function(function));
    auto demand = EventFd::create();
    ASSERT_TRUE(demand);
    (*machine)->bind_io_eventfd(function.io_window, demand->fd(), 0x10, 2, 0x48);
    auto& registry = (*machine)->bar_eventfds();
    EXPECT_EQ(registry.registered_eventfds(), 0u);
    ASSERT_TRUE((*machine)->pci_host().assign_initial_resources());
    EXPECT_EQ(registry.registered_eventfds(), 1u);
    (*machine)->bind_io_eventfd(function.io_window, demand->fd(), 0x10, 4, 0x48);  // DWIO
    EXPECT_EQ(registry.registered_eventfds(), 1u);
    EXPECT_EQ(registry.counters().refusals, 0u);
}

TEST(MachineBarEventfd, TheMachinesMsiRouterRoutesAMessage) {
    MachineConfig config;
    config.memory_bytes = 64ull << 20;
    config.console_input = false;
    auto machine = Machine::create(config);
    ASSERT_TRUE(machine) << machine.error().message;
    auto router = (*machine)->msi_router();
    ASSERT_TRUE(router) << router.error().message;
    auto again = (*machine)->msi_router();
    ASSERT_TRUE(again);
    EXPECT_EQ(*router, *again);  // one router per machine
    auto vector_fd = EventFd::create();
    ASSERT_TRUE(vector_fd);
    EXPECT_TRUE((*router)->bind(vector_fd->fd(), {0xFEE0'0000, 0x41}));
    (*router)->unbind(vector_fd->fd());
}

}  // namespace
}  // namespace hvmm
