#include "vmm/nic_wiring.h"

#include <sys/epoll.h>

#include <chrono>

#include "base/event_fd.h"
#include "devices/pci/pci_irq_routing.h"
#include "devices/pcnet/pcnet_pci.h"

namespace hvmm {
namespace {

// The Am79C970A polls its transmit ring about every 1.6 ms when the driver does not demand.
constexpr auto kTransmitPollPeriod = std::chrono::milliseconds(2);
// How often the backend's host-side link (a TAP's admin state) is re-read. pcnet32 looks at the
// chip's link every 2 s, so half a second keeps `ip link set NAME down` prompt for the guest at
// the cost of two ioctls.
constexpr auto kLinkPollPeriod = std::chrono::milliseconds(500);

Result<void> wire_pcnet(Machine& machine, const NicSpec& spec, unsigned index) {
    const uint8_t slot = static_cast<uint8_t>(1 + index);
    NetBackend& backend = machine.keep(HVMM_TRY(open_backend(spec)));
    auto& dma = machine.keep(std::make_unique<GuestMemoryDma>(machine.memory()));
    IrqLine& irq = machine.irq_line(pci::intx_gsi(slot, 0), fmt::format("pcnet{}", index));
    auto& nic = machine.keep(std::make_unique<PcnetPci>(dma, irq, &backend, spec.mac));
    HVMM_TRY_VOID(machine.pci_host().add(nic, slot));
    backend.set_sink(&nic.chip());

    EventLoop& loop = machine.event_loop();
    const int receive_fd = backend.receive_fd();
    // Whether the loop watches receive_fd for EPOLLIN; only the I/O thread touches it.
    auto& watching = machine.keep(std::make_unique<bool>(receive_fd >= 0));
    if (receive_fd >= 0) {
        HVMM_TRY_VOID(
            loop.add_fd(receive_fd, [&backend, &nic, &loop, &watching, receive_fd](uint32_t) {
                // With no receive buffer in the chip the frames stay queued in the backend, whose
                // fd stays readable: a level-triggered watch would call straight back and spin the
                // I/O thread. Stop watching until the chip reports buffers (receive_resumed_hook).
                if (backend.poll_receive() == 0 && !nic.chip().can_receive()) {
                    if (loop.modify_fd(receive_fd, 0))
                        watching = false;
                }
            }));
    }
    // The guest returning receive buffers (a vCPU thread) resumes the backend on the I/O
    // thread, which alone talks to the backend.
    auto& resume = machine.keep(std::make_unique<EventFd>(HVMM_TRY(EventFd::create())));
    HVMM_TRY_VOID(
        loop.add_fd(resume.fd(), [&resume, &backend, &loop, &watching, receive_fd](uint32_t) {
            resume.consume();
            backend.poll_receive();
            if (receive_fd >= 0 && !watching && loop.modify_fd(receive_fd, EPOLLIN))
                watching = true;
        }));
    nic.chip().receive_resumed_hook = [&resume] { resume.signal(); };
    HVMM_TRY_VOID(loop.add_timer(kTransmitPollPeriod, [&nic] { nic.chip().poll(); }));
    // The backend reports its link changes (a TAP set down or up on the host) only when asked.
    HVMM_TRY_VOID(loop.add_timer(kLinkPollPeriod, [&backend] { backend.refresh_link(); }));

    auto& stats = machine.stats();
    const std::string prefix = fmt::format("pcnet{}.", index);
    stats.add_counter(prefix + "tx_frames", [&nic] { return nic.chip().counters().tx_frames; });
    stats.add_counter(prefix + "rx_frames", [&nic] { return nic.chip().counters().rx_frames; });
    stats.add_counter(prefix + "interrupts", [&nic] { return nic.chip().counters().interrupts; });
    return {};
}

}  // namespace

Result<void> wire_nics(Machine& machine, std::span<const NicSpec> specs) {
    for (unsigned i = 0; i < specs.size(); ++i) {
        switch (specs[i].model) {
            case NicModel::kPcnet:
                HVMM_TRY_VOID(wire_pcnet(machine, specs[i], i));
                break;
        }
    }
    return {};
}

}  // namespace hvmm
