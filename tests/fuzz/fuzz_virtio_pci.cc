// Fuzz target for the virtio-pci transport: the input is a script of BAR and configuration
// space accesses (common configuration, notify, ISR, device configuration, MSI-X table and PBA,
// the PCI_CFG window, Message Control, the command register), device work on whatever queues
// the driver enabled, and signals on the call eventfds, against a transport over small guest
// RAM. It must never crash or hang, and the transport's rules must hold after every step: a
// status of 0 after writing 0, vectors that read back inside the table or NO_VECTOR, no queue
// register changed after DRIVER_OK, an active device only with DRIVER_OK and Bus Master (checked
// here, aborting on a breach; run under ASan/UBSan for the rest).
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "base/event_loop.h"
#include "base/log.h"
#include "irq/msi_router.h"
#include "devices/virtio/pci/virtio_pci_layout.h"
#include "devices/virtio/pci/virtio_pci_transport.h"
#include "devices/virtio/virtio_device.h"
#include "irq/irq_line.h"
#include "memory/guest_memory.h"
#include "fuzz_input.h"

namespace {

using hvmm::fuzz::FuzzInput;

namespace virtio = hvmm::virtio;
namespace layout = hvmm::virtio::pci_layout;
using layout::CommonRegister;

constexpr uint64_t kLowEnd = 64 * 1024;
constexpr uint64_t kHighBase = 128 * 1024;
constexpr uint64_t kHighEnd = 192 * 1024;

[[noreturn]] void breach(const char* what) {
    std::fprintf(stderr, "virtio-pci invariant broken: %s\n", what);
    std::abort();
}

hvmm::GuestMemory& memory() {
    static hvmm::GuestMemory m = [] {
        const std::array<std::pair<uint64_t, uint64_t>, 2> layout{
            {{0, kLowEnd}, {kHighBase, kHighEnd - kHighBase}}};
        auto created = hvmm::GuestMemory::create_with_regions(layout);
        if (!created)
            breach("no guest memory");
        return std::move(*created);
    }();
    return m;
}

hvmm::EventLoop& loop() {
    // Never run: a watched call fd just stays readable, which is what an idle I/O thread does.
    static std::unique_ptr<hvmm::EventLoop> l = [] {
        auto created = hvmm::EventLoop::create();
        if (!created)
            breach("no event loop");
        return std::move(*created);
    }();
    return *l;
}

class FuzzDevice final : public virtio::VirtioDevice {
  public:
    uint16_t device_type() const override { return 1; }
    uint32_t pci_class_code() const override { return 0x020000; }
    uint16_t queue_count() const override { return 2; }
    uint16_t max_queue_size(uint16_t) const override { return 16; }
    uint64_t device_features() const override {
        return virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | virtio::kFeatureIndirectDesc |
               (uint64_t{1} << 5);
    }
    bool accept_features(uint64_t features) override { return (features & 0x3) != 0x3; }
    uint32_t config_size() const override { return config.size(); }
    void read_config(uint32_t offset, std::span<uint8_t> data) override {
        if (offset + data.size() > config.size())
            breach("device config read past its size");
        for (size_t i = 0; i < data.size(); ++i) data[i] = config[offset + i];
    }
    void write_config(uint32_t offset, std::span<const uint8_t> data) override {
        if (offset + data.size() > config.size())
            breach("device config write past its size");
        for (size_t i = 0; i < data.size(); ++i) config[offset + i] = data[i];
    }
    void activate(const virtio::ActivationContext& context) override {
        if (active)
            breach("activated twice without a reset");
        active = true;
        queues.assign(context.queues.begin(), context.queues.end());
        interrupt = &context.interrupt;
    }
    void reset() override {
        active = false;
        queues.clear();
        interrupt = nullptr;
    }
    std::string_view name() const override { return "fuzz"; }

    // What a device does on a kick: take every chain, give it back, notify if asked.
    void work() {
        for (size_t q = 0; q < queues.size(); ++q) {
            if (queues[q] == nullptr)
                continue;
            for (int budget = 0; budget < 32; ++budget) {
                auto popped = queues[q]->pop();
                if (!popped)
                    break;
                if (*popped) {
                    queues[q]->add_used(popped->value().head(), 0);
                } else {
                    queues[q]->add_used(popped->error());
                }
            }
            if (queues[q]->should_notify())
                interrupt->signal_used(static_cast<uint16_t>(q));
        }
    }

    std::array<uint8_t, 6> config{};
    bool active = false;
    std::vector<virtio::SplitQueue*> queues;
    virtio::VirtioInterrupt* interrupt = nullptr;
};

class CountingRouter final : public hvmm::pci::MsiRouter {
  public:
    hvmm::Result<void> bind(int, hvmm::pci::MsiMessage) override {
        if (++binds % 7 == 0)
            return hvmm::fail("no GSI left");  // the fallback path too
        return {};
    }
    void unbind(int) override {}
    void signal(hvmm::pci::MsiMessage) override {}
    uint64_t binds = 0;
};

class NullIrq final : public hvmm::IrqLine {
  public:
    void set_level(bool) override {}
};

struct Rig {
    FuzzDevice device;
    CountingRouter router;
    NullIrq intx;
    std::unique_ptr<virtio::VirtioPciTransport> transport;

    uint64_t bar_read(uint64_t offset, size_t width) {
        std::array<uint8_t, 8> bytes{};
        transport->bar_device(0)->read({offset, offset, 0}, std::span(bytes).first(width));
        uint64_t value = 0;
        for (size_t i = width; i-- > 0;) value = (value << 8) | bytes[i];
        return value;
    }
    void bar_write(uint64_t offset, uint64_t value, size_t width) {
        std::array<uint8_t, 8> bytes{};
        for (size_t i = 0; i < width; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
        transport->bar_device(0)->write({offset, offset, 0}, std::span(bytes).first(width));
    }
    void common_write(CommonRegister reg, uint64_t value, size_t width) {
        bar_write(layout::offset_of(reg), value, width);
    }
    uint64_t common_read(CommonRegister reg, size_t width) {
        return bar_read(layout::offset_of(reg), width);
    }
};

size_t pick_width(FuzzInput& in) {
    constexpr std::array<size_t, 4> widths{1, 2, 4, 8};
    return widths[in.byte() % 4];
}

// A BAR offset: mostly a register, sometimes anywhere in (or past) the BAR.
uint64_t pick_bar_offset(FuzzInput& in, const layout::BarLayout& bar) {
    switch (in.byte() % 8) {
        case 0:
        case 1:
        case 2:
            return in.byte() % 0x40;
        case 3:
            return layout::BarLayout::kNotifyOffset + in.byte() % 12;
        case 4:
            return bar.msix_table_offset + in.byte() % (bar.msix_table_length + 8);
        case 5:
            return layout::BarLayout::kDeviceOffset + in.byte() % 12;
        case 6:
            return layout::BarLayout::kIsrOffset + in.byte() % 4;
        default:
            return in.dword() % (bar.bar_size + 16);
    }
}

// The valid bring-up, so deep states are reached often; the script may break it anywhere.
void bring_up(Rig& rig, FuzzInput& in) {
    // Memory decode and Bus Master, as the kernel sets them before the driver's probe.
    const std::array<uint8_t, 2> command{0x06, 0x00};
    (void)rig.transport->config_write(0x04, command);
    rig.common_write(CommonRegister::kDeviceStatus, 3, 1);
    rig.common_write(CommonRegister::kDriverFeatureSelect, 1, 4);
    rig.common_write(CommonRegister::kDriverFeature, 1, 4);
    rig.common_write(CommonRegister::kDriverFeatureSelect, 0, 4);
    rig.common_write(CommonRegister::kDriverFeature, in.byte() & 1 ? (1u << 29) : 0, 4);
    rig.common_write(CommonRegister::kDeviceStatus, 11, 1);
    for (uint16_t q = 0; q < 2; ++q) {
        rig.common_write(CommonRegister::kQueueSelect, q, 2);
        rig.common_write(CommonRegister::kQueueSize, 16, 2);
        rig.common_write(CommonRegister::kQueueDesc, 0x1000 + q * 0x1000, 8);
        rig.common_write(CommonRegister::kQueueDriver, 0x4000 + q * 0x100, 8);
        rig.common_write(CommonRegister::kQueueDevice, 0x6000 + q * 0x200, 8);
        rig.common_write(CommonRegister::kQueueMsixVector, q + 1u, 2);
        rig.common_write(CommonRegister::kQueueEnable, 1, 2);
    }
    rig.common_write(CommonRegister::kDeviceStatus, 15, 1);
    // A few descriptors and available entries from the input, so the first work() has chains
    // to walk (avail.idx restarts from what the guest RAM holds: the device's index is 0).
    for (uint16_t q = 0; q < 2; ++q) {
        const uint64_t desc = 0x1000 + q * 0x1000;
        const uint64_t avail = 0x4000 + q * 0x100;
        for (uint16_t i = 0; i < 4; ++i) {
            const uint64_t address = desc + 16u * (in.byte() % 16);
            (void)memory().write_obj(hvmm::GuestAddress(address), 0x8000 + uint64_t{in.word()});
            (void)memory().write_obj(hvmm::GuestAddress(address + 8), in.qword());
            (void)memory().write_obj(hvmm::GuestAddress(avail + 4 + 2 * i),
                                     static_cast<uint16_t>(in.byte() % 16));
        }
        (void)memory().write_obj(hvmm::GuestAddress(avail + 2),
                                 static_cast<uint16_t>(in.byte() % 5));
    }
}

struct QueueSnapshot {
    uint64_t size, desc, driver, device;
    bool operator==(const QueueSnapshot&) const = default;
};

std::array<QueueSnapshot, 2> snapshot(Rig& rig) {
    std::array<QueueSnapshot, 2> queues{};
    const uint64_t select = rig.common_read(CommonRegister::kQueueSelect, 2);
    for (uint16_t q = 0; q < 2; ++q) {
        rig.common_write(CommonRegister::kQueueSelect, q, 2);
        queues[q] = {rig.common_read(CommonRegister::kQueueSize, 2),
                     rig.common_read(CommonRegister::kQueueDesc, 8),
                     rig.common_read(CommonRegister::kQueueDriver, 8),
                     rig.common_read(CommonRegister::kQueueDevice, 8)};
    }
    rig.common_write(CommonRegister::kQueueSelect, select, 2);
    return queues;
}

void check(Rig& rig, const std::array<QueueSnapshot, 2>& before, bool was_driver_ok) {
    const auto status = rig.common_read(CommonRegister::kDeviceStatus, 1);
    const bool driver_ok = (status & layout::bits(layout::Status::kDriverOk)) != 0;
    const bool needs_reset = (status & layout::bits(layout::Status::kDeviceNeedsReset)) != 0;
    std::array<uint8_t, 2> command{};
    rig.transport->config_read(0x04, command);
    const bool bus_master = (command[0] & 0x04) != 0;
    if (rig.device.active && !(driver_ok && bus_master))
        breach("a device runs without DRIVER_OK or without Bus Master");
    if (driver_ok && bus_master && !needs_reset && !rig.device.active)
        breach("DRIVER_OK with Bus Master and no reset asked for, yet the device is stopped");
    const uint64_t config_vector = rig.common_read(CommonRegister::kConfigMsixVector, 2);
    if (config_vector != layout::kMsiNoVector && config_vector >= 3)
        breach("config vector");
    if (was_driver_ok && driver_ok && snapshot(rig) != before) {
        breach("a queue register changed after DRIVER_OK");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    hvmm::fuzz::quiet_logs();
    Rig rig;
    auto created = virtio::VirtioPciTransport::create(rig.device, memory(), loop(), rig.router,
                                                      rig.intx, "fuzz-virtio-pci");
    if (!created)
        breach("transport creation failed");
    rig.transport = std::move(*created);
    const auto& bar = rig.transport->layout();
    FuzzInput in(data, size);
    if (in.byte() & 1)
        bring_up(rig, in);

    for (int step = 0; step < 256 && !in.empty(); ++step) {
        const auto before = snapshot(rig);
        const bool was_driver_ok = (rig.common_read(CommonRegister::kDeviceStatus, 1) &
                                    layout::bits(layout::Status::kDriverOk)) != 0;
        switch (in.byte() % 10) {
            case 0:
            case 1: {
                const uint64_t offset = pick_bar_offset(in, bar);
                const size_t width = pick_width(in);
                rig.bar_write(offset, in.qword(), width);
                break;
            }
            case 2: {
                const uint64_t offset = pick_bar_offset(in, bar);
                rig.bar_read(offset, pick_width(in));
                break;
            }
            case 3: {
                // Configuration space: the PCI_CFG window, Message Control, command, BARs.
                const uint8_t offset = in.byte();
                const size_t width = std::array<size_t, 3>{1, 2, 4}[in.byte() % 3];
                std::array<uint8_t, 4> bytes{};
                for (size_t i = 0; i < width; ++i) bytes[i] = in.byte();
                const size_t fit = std::min<size_t>(width, 256 - offset);
                rig.transport->config_write(offset, std::span(bytes).first(fit));
                break;
            }
            case 4: {
                const uint8_t offset = in.byte();
                std::array<uint8_t, 4> bytes{};
                rig.transport->config_read(
                    offset, std::span(bytes).first(std::min<size_t>(4, 256 - offset)));
                break;
            }
            case 5:
                rig.device.work();
                break;
            case 6:
                if (rig.device.interrupt != nullptr)
                    rig.device.interrupt->signal_config();
                break;
            case 7: {
                const int fd = rig.transport->interrupts().call_fd(in.byte() % 3);
                if (fd >= 0) {
                    const uint64_t one = 1;
                    [[maybe_unused]] auto written = ::write(fd, &one, sizeof(one));
                }
                break;
            }
            case 8: {
                if (in.byte() % 4 == 0) {
                    // Publish: avail.idx of a queue a few entries ahead (or far: CVE-2016-5403).
                    const uint64_t avail_idx = 0x4000 + (in.byte() & 1) * 0x100 + 2;
                    (void)memory().write_obj(hvmm::GuestAddress(avail_idx), in.word() % 40);
                    break;
                }
                // The guest writes its rings (and anything else) in low RAM.
                // Half the time in the rings bring_up() places (0x1000-0x7000), so chains and
                // available indices the device then walks appear often.
                const uint64_t address =
                    in.byte() & 1 ? 0x1000 + in.word() % 0x6000 : in.word() % kLowEnd;
                const uint64_t value = in.qword();
                (void)memory().write_obj(hvmm::GuestAddress(address & ~uint64_t{7}), value);
                break;
            }
            default:
                rig.common_write(CommonRegister::kDeviceStatus, 0, 1);
                if (rig.common_read(CommonRegister::kDeviceStatus, 1) != 0) {
                    breach("status does not read 0 after a reset");
                }
                break;
        }
        check(rig, before, was_driver_ok);
    }
    return 0;
}
