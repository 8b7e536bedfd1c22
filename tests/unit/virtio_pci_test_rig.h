// Test stand-ins for a virtio-pci transport's surroundings: a small VirtioDevice (two queues,
// eight config bytes), an MsiRouter and an IrqLine that record what they were asked, and a rig
// that builds a VirtioPciTransport over real test GuestMemory and drives it as a driver would,
// through the BAR and through configuration space. Single-threaded unless a test runs the loop.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "base/event_loop.h"
#include "devices/pci/capability_list.h"
#include "irq/msi_router.h"
#include "devices/virtio/pci/virtio_pci_layout.h"
#include "devices/virtio/pci/virtio_pci_transport.h"
#include "devices/virtio/virtio_device.h"
#include "irq/irq_line.h"
#include "virtio_mock_driver.h"

namespace hvmm::virtio::testing {

namespace layout = pci_layout;
using layout::CommonRegister;
using layout::Status;

inline constexpr uint64_t kDeviceFeatureBit = uint64_t{1} << 5;  // some device-specific bit

class FakeVirtioDevice final : public VirtioDevice {
  public:
    uint16_t device_type() const override { return 1; }
    uint32_t pci_class_code() const override { return 0x020000; }
    uint16_t queue_count() const override { return 2; }
    uint16_t max_queue_size(uint16_t) const override { return 256; }
    uint64_t device_features() const override {
        return kFeatureVersion1 | kFeatureEventIdx | kDeviceFeatureBit;
    }
    bool accept_features(uint64_t features) override {
        accepted.push_back(features);
        return accept;
    }
    uint32_t config_size() const override { return static_cast<uint32_t>(config.size()); }
    void read_config(uint32_t offset, std::span<uint8_t> data) override {
        for (size_t i = 0; i < data.size(); ++i) data[i] = config.at(offset + i);
    }
    void write_config(uint32_t offset, std::span<const uint8_t> data) override {
        for (size_t i = 0; i < data.size(); ++i) config.at(offset + i) = data[i];
    }
    void activate(const ActivationContext& context) override {
        ++activations;
        features = context.features;
        queues.assign(context.queues.begin(), context.queues.end());
        kick_fds.assign(context.kick_fds.begin(), context.kick_fds.end());
        interrupt = &context.interrupt;
    }
    void reset() override {
        ++resets;
        queues.clear();
        kick_fds.clear();
        interrupt = nullptr;
    }
    std::string_view name() const override { return "fake"; }

    bool accept = true;
    std::vector<uint64_t> accepted;
    std::array<uint8_t, 8> config{1, 2, 3, 4, 5, 6, 7, 8};
    int activations = 0;
    int resets = 0;
    uint64_t features = 0;
    std::vector<SplitQueue*> queues;
    std::vector<int> kick_fds;
    VirtioInterrupt* interrupt = nullptr;
};

class FakeMsiRouter final : public pci::MsiRouter {
  public:
    Result<void> bind(int event_fd, pci::MsiMessage message) override {
        std::lock_guard lock(mutex);
        ++binds;
        if (fail_binds)
            return fail("no GSI left");
        bound[event_fd] = message;
        return {};
    }
    void unbind(int event_fd) override {
        std::lock_guard lock(mutex);
        ++unbinds;
        bound.erase(event_fd);
    }
    void signal(pci::MsiMessage message) override {
        std::lock_guard lock(mutex);
        signals.push_back(message);
    }
    size_t signal_count() {
        std::lock_guard lock(mutex);
        return signals.size();
    }

    std::mutex mutex;
    bool fail_binds = false;
    int binds = 0;
    int unbinds = 0;
    std::map<int, pci::MsiMessage> bound;
    std::vector<pci::MsiMessage> signals;
};

class FakeIrqLine final : public IrqLine {
  public:
    void set_level(bool asserted) override {
        level = asserted;
        ++changes;
    }
    bool level = false;
    int changes = 0;
};

// Queue q's rings: queue 0 at the mock driver's places, queue 1 in the data area.
inline uint64_t desc_of(uint16_t q) {
    return q == 0 ? kDescTable : kDataArea;
}
inline uint64_t avail_of(uint16_t q) {
    return q == 0 ? kAvailRing : kDataArea + 0x10000;
}
inline uint64_t used_of(uint16_t q) {
    return q == 0 ? kUsedRing : kDataArea + 0x20000;
}

class VirtioPciRig : public ::testing::Test {
  protected:
    GuestMemory memory = make_test_memory();
    std::unique_ptr<EventLoop> loop = [] {
        auto created = EventLoop::create();
        EXPECT_TRUE(created);
        return std::move(*created);
    }();
    FakeVirtioDevice device;
    FakeMsiRouter router;
    FakeIrqLine intx;
    std::unique_ptr<VirtioPciTransport> transport = [this] {
        auto created = VirtioPciTransport::create(device, memory, *loop, router, intx, "vpci");
        EXPECT_TRUE(created) << created.error().message;
        return std::move(*created);
    }();
    const layout::BarLayout& bar = transport->layout();

    // BAR accesses at offsets in the BAR (as the MMIO bus would hand them over).
    uint64_t bar_read(uint64_t offset, size_t width) {
        std::array<uint8_t, 8> bytes{};
        transport->bar_device(VirtioPciTransport::kBar)
            ->read(BusAccess{offset, offset, 0}, std::span(bytes).first(width));
        uint64_t value = 0;
        for (size_t i = width; i-- > 0;) value = (value << 8) | bytes[i];
        return value;
    }
    void bar_write(uint64_t offset, uint64_t value, size_t width) {
        std::array<uint8_t, 8> bytes{};
        for (size_t i = 0; i < width; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
        transport->bar_device(VirtioPciTransport::kBar)
            ->write(BusAccess{offset, offset, 0}, std::span(bytes).first(width));
    }
    static size_t width_of(CommonRegister reg) {
        switch (reg) {
            case CommonRegister::kDeviceStatus:
            case CommonRegister::kConfigGeneration:
                return 1;
            case CommonRegister::kDeviceFeatureSelect:
            case CommonRegister::kDeviceFeature:
            case CommonRegister::kDriverFeatureSelect:
            case CommonRegister::kDriverFeature:
                return 4;
            case CommonRegister::kQueueDesc:
            case CommonRegister::kQueueDriver:
            case CommonRegister::kQueueDevice:
                return 8;
            default:
                return 2;
        }
    }
    uint64_t common(CommonRegister reg) { return bar_read(layout::offset_of(reg), width_of(reg)); }
    void set_common(CommonRegister reg, uint64_t value) {
        bar_write(layout::offset_of(reg), value, width_of(reg));
    }
    uint8_t status() { return static_cast<uint8_t>(common(CommonRegister::kDeviceStatus)); }
    void set_status(uint8_t value) { set_common(CommonRegister::kDeviceStatus, value); }

    // Configuration space, as the host bridge would pass it on.
    uint32_t config_read(uint8_t offset, size_t width) {
        std::array<uint8_t, 4> bytes{};
        transport->config_read(offset, std::span(bytes).first(width));
        uint32_t value = 0;
        for (size_t i = width; i-- > 0;) value = (value << 8) | bytes[i];
        return value;
    }
    std::vector<pci::BarChange> config_write(uint8_t offset, uint32_t value, size_t width) {
        std::array<uint8_t, 4> bytes{};
        for (size_t i = 0; i < width; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
        return transport->config_write(offset, std::span(bytes).first(width));
    }

    // The PCI command register: memory decode and Bus Master, as the kernel sets them before
    // the driver starts (pci_enable_device, pci_set_master), or Bus Master cleared again.
    static constexpr uint16_t kMemorySpace = 0x0002;
    static constexpr uint16_t kBusMaster = 0x0004;
    void set_command(uint16_t command) { config_write(0x04, command, 2); }

    // The driver's steps (VIRTIO 1.2 3.1.1), each checkable on its own; the probe's
    // pci_set_master comes first.
    void negotiate(uint64_t features = kFeatureVersion1 | kFeatureEventIdx) {
        set_command(kMemorySpace | kBusMaster);
        set_status(layout::bits(Status::kAcknowledge));
        set_status(layout::bits(Status::kAcknowledge) | layout::bits(Status::kDriver));
        for (uint32_t select = 0; select < 2; ++select) {
            set_common(CommonRegister::kDriverFeatureSelect, select);
            set_common(CommonRegister::kDriverFeature, (features >> (32 * select)) & 0xFFFFFFFF);
        }
        set_status(status() | layout::bits(Status::kFeaturesOk));
    }
    void configure_queue(uint16_t q, uint16_t size = 256) {
        set_common(CommonRegister::kQueueSelect, q);
        set_common(CommonRegister::kQueueSize, size);
        // Two 32-bit halves, as Linux's vp_iowrite64_twopart writes them.
        const auto write64 = [&](CommonRegister reg, uint64_t value) {
            bar_write(layout::offset_of(reg), value & 0xFFFFFFFF, 4);
            bar_write(layout::offset_of(reg) + 4, value >> 32, 4);
        };
        write64(CommonRegister::kQueueDesc, desc_of(q));
        write64(CommonRegister::kQueueDriver, avail_of(q));
        write64(CommonRegister::kQueueDevice, used_of(q));
        set_common(CommonRegister::kQueueEnable, 1);
    }
    void driver_ok() { set_status(status() | layout::bits(Status::kDriverOk)); }
    void bring_up() {
        negotiate();
        configure_queue(0);
        configure_queue(1);
        driver_ok();
    }

    // MSI-X: the capability's Message Control, and table entries.
    uint8_t msix_cap() {
        auto found = pci::find_capability(transport->config_space(), pci::CapabilityId::kMsix);
        EXPECT_TRUE(found);
        return found.value_or(0);
    }
    void set_msix_control(bool enable, bool function_mask) {
        const uint16_t control = (enable ? 0x8000 : 0) | (function_mask ? 0x4000 : 0);
        config_write(msix_cap() + 2, control, 2);
    }
    void program_vector(uint16_t vector, uint64_t address, uint32_t data, bool masked) {
        const uint64_t entry = bar.msix_table_offset + 16u * vector;
        bar_write(entry, address & 0xFFFFFFFF, 4);
        bar_write(entry + 4, address >> 32, 4);
        bar_write(entry + 8, data, 4);
        bar_write(entry + 12, masked ? 1 : 0, 4);
    }
    void mask_vector(uint16_t vector, bool masked) {
        bar_write(bar.msix_table_offset + 16u * vector + 12, masked ? 1 : 0, 4);
    }
    uint64_t pba() { return bar_read(bar.msix_pba_offset, 8); }
    static pci::MsiMessage message(uint16_t vector) {
        return pci::MsiMessage{0xFEE00000u + vector * 0x1000u, 0x4000u + vector};
    }
    // MSI-X on, every vector programmed and unmasked, queue q on vector q + 1, config on 0 (the
    // layout Linux's per-queue vectors use).
    void msix_per_queue_vectors() {
        set_msix_control(true, true);
        for (uint16_t v = 0; v < 3; ++v) {
            const auto m = message(v);
            program_vector(v, m.address, m.data, false);
        }
        set_common(CommonRegister::kConfigMsixVector, 0);
        for (uint16_t q = 0; q < 2; ++q) {
            set_common(CommonRegister::kQueueSelect, q);
            set_common(CommonRegister::kQueueMsixVector, q + 1u);
        }
        set_msix_control(true, false);
    }

    // Runs the event loop on a thread until pred() holds (or a second passes).
    template <class Pred>
    bool run_loop_until(Pred pred) {
        std::thread io([this] { loop->run(); });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        bool held = false;
        while (std::chrono::steady_clock::now() < deadline) {
            if (pred()) {
                held = true;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        loop->stop();
        io.join();
        return held;
    }
};

}  // namespace hvmm::virtio::testing
