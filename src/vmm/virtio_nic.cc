#include "vmm/virtio_nic.h"

#include <fmt/format.h>

#include "irq/pci_irq_routing.h"
#include "devices/virtio/net/vhost_net.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/pci/virtio_pci_transport.h"
#include "irq/irqfd_line.h"
#include "vmm/nic_backend_stats.h"

namespace hvmm {
namespace {

// How often the backend's host-side link (a TAP's admin state) is re-read: as for the PCnet
// (pcnet_nic.cc), prompt enough for `ip link set NAME down` at two ioctls a second.
constexpr auto kLinkPollPeriod = std::chrono::milliseconds(500);

// How the user wrote the NIC, for messages about vhost.
std::string vhost_label(const NicSpec& spec) {
    return fmt::format("--nic virtio,net=tap:{},vhost={}", spec.net_name,
                       spec.vhost == VhostMode::kOn ? "on" : "auto");
}

class OwnedVirtioNic final : public VirtioNic {
  public:
    ~OwnedVirtioNic() override {
        // The transport resets the device (and so stops vhost) before either goes.
        transport.reset();
        device.reset();
        vhost.reset();
    }

    // Declaration order is the order of construction; the destructor above makes the order of
    // destruction explicit.
    std::unique_ptr<NetBackend> backend;
    std::unique_ptr<IrqfdLine> intx;
    std::unique_ptr<virtio::VhostNet> vhost;
    std::unique_ptr<virtio::VirtioNet> device;
    std::unique_ptr<virtio::VirtioPciTransport> transport;
};

void add_counters(Machine& machine, OwnedVirtioNic& nic, unsigned index) {
    auto& stats = machine.stats();
    const std::string prefix = fmt::format("virtio{}.", index);
    // Learn the device's names once; each counter reads its value by position.
    const auto names = nic.device->named_counts();
    for (size_t i = 0; i < names.size(); ++i) {
        stats.add_counter(prefix + std::string(names[i].name),
                          [&nic, i] { return nic.device->named_counts()[i].value; });
    }
    stats.add_counter(prefix + "kicks_trapped",
                      [&nic] { return nic.transport->counters().kicks; });
    stats.add_counter(prefix + "stopped_by_bus_master",
                      [&nic] { return nic.transport->counters().common.stopped_by_bus_master; });
    // The interrupts this NIC asked for, MSI-X or INTx alike (per-frame costs sum the lines
    // whose name ends in the NIC's); the INTx line itself is shown apart, not summed twice.
    stats.add_interrupt_source(fmt::format("notify virtio{}", index), [&nic] {
        const auto c = nic.device->counters();
        return c.tx_notifications + c.rx_notifications + c.config_changes;
    });
    stats.add_interrupt_source(fmt::format("gsi{} virtio{} intx", nic.intx->gsi(), index),
                               [&nic] { return nic.intx->assertions(); });
    add_backend_counters(stats, *nic.backend, index);
}

}  // namespace

Result<std::unique_ptr<VirtioNic>> VirtioNic::create(Machine& machine, const NicSpec& spec,
                                                     unsigned index, uint8_t slot) {
    auto nic = std::make_unique<OwnedVirtioNic>();
    // vhost first: it is opened (and owned) before anything reaches the guest, and vhost=on
    // without it is one clear error before the VM starts.
    if (spec.vhost != VhostMode::kOff) {
        nic->vhost = HVMM_TRY(virtio::open_vhost_net(spec.vhost, vhost_label(spec)));
    }
    nic->backend = HVMM_TRY(open_backend(spec));
    EventLoop& loop = machine.event_loop();
    nic->intx = HVMM_TRY(IrqfdLine::create(machine.vm(), pci::intx_gsi(slot, 0), loop));

    virtio::VirtioNetOptions options;
    options.mac = spec.mac;
    options.vhost = nic->vhost.get();
    options.tx_poll = spec.poll;
    nic->device = HVMM_TRY(virtio::VirtioNet::create(*nic->backend, loop, options));
    pci::MsiRouter* router = HVMM_TRY(machine.msi_router());
    nic->transport = HVMM_TRY(virtio::VirtioPciTransport::create(
        *nic->device, machine.memory(), loop, *router, *nic->intx, fmt::format("virtio{}", index)));
    HVMM_TRY_VOID(machine.pci_host().add(*nic->transport, slot));

    // A kick is an MMIO ioeventfd wherever the guest maps the BAR: no exit to hvmm. A write the
    // ioeventfd does not catch still exits and the transport signals the same eventfd.
    BusDevice& bar = *nic->transport->bar_device(virtio::VirtioPciTransport::kBar);
    for (const auto& notify : nic->transport->notify_addresses()) {
        HVMM_TRY_VOID(machine.bind_bar_eventfd(bar, pci::BarKind::kMmio, notify.kick_fd,
                                               notify.bar_offset, 0, std::nullopt));
    }
    NetBackend& backend = *nic->backend;
    HVMM_TRY_VOID(loop.add_timer(kLinkPollPeriod, [&backend] { backend.refresh_link(); }));
    add_counters(machine, *nic, index);
    return std::unique_ptr<VirtioNic>(std::move(nic));
}

}  // namespace hvmm
