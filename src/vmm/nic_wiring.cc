#include "vmm/nic_wiring.h"

#include <poll.h>
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <mutex>

#include "base/event_fd.h"
#include "irq/pci_irq_routing.h"
#include "devices/pcnet/pcnet_pci.h"
#include "irq/irqfd_line.h"
#include "base/syscall_count.h"
#include "vmm/nic_backend_stats.h"
#include "vmm/transmit_poll_pacer.h"
#include "vmm/virtio_nic.h"

namespace hvmm {
namespace {

// How often the backend's host-side link (a TAP's admin state) is re-read. pcnet32 looks at the
// chip's link every 2 s, so half a second keeps `ip link set NAME down` prompt for the guest at
// the cost of two ioctls.
constexpr auto kLinkPollPeriod = std::chrono::milliseconds(500);

// The NIC's interrupt line: an irqfd (notify) or the machine's KVM_IRQ_LINE line (baseline).
Result<IrqLine*> make_irq_line(Machine& machine, uint32_t gsi, unsigned index, bool notify) {
    const std::string user = fmt::format("pcnet{}", index);
    if (!notify) {
        return &machine.irq_line(gsi, user);
    }
    auto& line = machine.keep(HVMM_TRY(IrqfdLine::create(machine.vm(), gsi, machine.event_loop())));
    machine.stats().add_interrupt_source(fmt::format("gsi{} {}", gsi, user),
                                         [&line] { return line.assertions(); });
    return &line;
}

// Frames from the backend into the chip. Only one thread reads the backend at a time (its
// buffer is shared); the vCPU side of the baseline just skips a turn if the I/O thread has it.
struct Receiver {
    Receiver(NetBackend& backend, PcnetChip& chip, EventLoop& loop)
        : backend(backend), chip(chip), loop(loop), fd(backend.receive_fd()) {}
    NetBackend& backend;
    PcnetChip& chip;
    EventLoop& loop;
    int fd;
    std::mutex reading;
    bool watching = false;  // the I/O thread's EPOLLIN watch is armed; I/O thread only

    size_t poll_backend() {
        std::lock_guard lock(reading);
        return backend.poll_receive();
    }
};

Result<void> wire_receive(Machine& machine, Receiver& receiver, const NicOptimizations& options) {
    EventLoop& loop = receiver.loop;
    if (receiver.fd >= 0) {
        receiver.watching = true;
        HVMM_TRY_VOID(loop.add_fd(receiver.fd, [&receiver](uint32_t) {
            // With no receive buffer in the chip the frames stay queued in the backend, whose
            // fd stays readable: a level-triggered watch would call straight back and spin the
            // I/O thread. Stop watching until the chip reports buffers (receive_resumed_hook).
            // A backend whose fd goes quiet by itself stays watched: its fd also says when
            // frames queued for sending can go (StreamBackend), which must not wait for the
            // guest's receive buffers.
            if (receiver.poll_backend() == 0 && !receiver.chip.can_receive() &&
                !receiver.backend.receive_fd_pauses_itself()) {
                if (receiver.loop.modify_fd(receiver.fd, 0))
                    receiver.watching = false;
            }
        }));
    }
    // The guest returning receive buffers (a vCPU thread) resumes the backend on the I/O
    // thread. Only after the chip had to refuse a frame, so not on the common path.
    auto& resume = machine.keep(std::make_unique<EventFd>(HVMM_TRY(EventFd::create())));
    HVMM_TRY_VOID(loop.add_fd(resume.fd(), [&resume, &receiver](uint32_t) {
        resume.consume();
        receiver.poll_backend();
        if (receiver.fd >= 0 && !receiver.watching && receiver.loop.modify_fd(receiver.fd, EPOLLIN))
            receiver.watching = true;
    }));
    receiver.chip.receive_resumed_hook = [&resume] { resume.signal(); };

    if (!options.notify && receiver.fd >= 0) {
        // The paper's unoptimized path: every exit asks the host, with a poll() of its own,
        // whether frames arrived. (The I/O thread's watch stays for a guest that sits in HLT
        // and so never exits, as the paper's VMApp select()ed while the guest idled.)
        machine.add_exit_poller([&receiver] {
            pollfd entry{receiver.fd, POLLIN, 0};
            stats::count_syscall();
            if (::poll(&entry, 1, 0) > 0 && (entry.revents & POLLIN) != 0) {
                std::unique_lock lock(receiver.reading, std::try_to_lock);
                if (lock.owns_lock())
                    receiver.backend.poll_receive();
            }
        });
    }
    return {};
}

// Send combining: a transmit demand on a vCPU only schedules the I/O thread, once per batch;
// the I/O thread sends every frame queued by then and raises one transmit-done interrupt for
// the batch.
Result<void> wire_send_combining(Machine& machine, PcnetChip& chip) {
    auto& kick = machine.keep(std::make_unique<EventFd>(HVMM_TRY(EventFd::create())));
    auto& scheduled = machine.keep(std::make_unique<std::atomic<bool>>(false));
    HVMM_TRY_VOID(machine.event_loop().add_fd(kick.fd(), [&kick, &scheduled, &chip](uint32_t) {
        kick.consume();
        // Cleared before the walk: a demand arriving during it schedules another.
        scheduled.store(false, std::memory_order_release);
        chip.process_transmit_ring();
    }));
    chip.transmit_demand_hook = [&kick, &scheduled] {
        if (!scheduled.exchange(true, std::memory_order_acq_rel))
            kick.signal();
    };
    chip.set_transmit_interrupt_per_walk(true);
    return {};
}

// The transmit kick without an exit (nic_optimizations.h, "kick"): ioeventfds take RAP := 0 and
// RDP := 0x48 inside KVM; the chip resolves them in order (PcnetChip::SilentWrites), and the
// I/O thread resolves a pending transmit demand as soon as KVM signals it.
Result<void> wire_silent_transmit_demand(Machine& machine, PcnetChip& chip, BusDevice& io_window) {
    auto& rap_zero = machine.keep(std::make_unique<EventFd>(HVMM_TRY(EventFd::create())));
    auto& demand = machine.keep(std::make_unique<EventFd>(HVMM_TRY(EventFd::create())));
    auto follow_registers = [&machine, &io_window, &chip, &rap_zero, &demand] {
        const auto rap = chip.rap_window();
        const auto rdp = chip.rdp_window();
        machine.bind_io_eventfd(io_window, rap_zero.fd(), rap.offset, rap.width, 0);
        machine.bind_io_eventfd(io_window, demand.fd(), rdp.offset, rdp.width,
                                PcnetChip::kSilentTransmitDemand);
    };
    follow_registers();
    chip.register_layout_hook = follow_registers;
    chip.fetch_silent_writes = [&rap_zero, &demand] {
        return PcnetChip::SilentWrites{rap_zero.consume(), demand.consume()};
    };
    EventLoop& loop = machine.event_loop();
    HVMM_TRY_VOID(loop.add_fd(demand.fd(), [&chip](uint32_t) { chip.resolve_silent_writes(); }));
    HVMM_TRY_VOID(loop.add_fd(rap_zero.fd(), [&chip](uint32_t) { chip.resolve_silent_writes(); }));
    return {};
}

// The chip's poll timer, slowed while the polls find nothing to do (TransmitPollPacer).
struct TransmitPoller {
    TransmitPoller(PcnetChip& chip, EventLoop& loop) : chip(chip), loop(loop) {}
    PcnetChip& chip;
    EventLoop& loop;
    uint64_t timer = 0;
    TransmitPollPacer pacer;

    void tick() {
        if (const auto period = pacer.after_poll(chip.poll())) {
            // A timerfd that cannot be re-armed keeps its old period: slower or busier, still
            // correct.
            if (!loop.set_timer_period(timer, *period))
                pacer.revert();
        }
    }
};

Result<void> wire_pcnet(Machine& machine, const NicSpec& spec, unsigned index,
                        const NicOptimizations& options) {
    const uint8_t slot = static_cast<uint8_t>(1 + index);
    NetBackend& backend = machine.keep(HVMM_TRY(open_backend(spec)));
    auto& dma = machine.keep(std::make_unique<GuestMemoryDma>(machine.memory()));
    IrqLine* irq = HVMM_TRY(make_irq_line(machine, pci::intx_gsi(slot, 0), index, options.notify));
    auto& nic = machine.keep(std::make_unique<PcnetPci>(dma, *irq, &backend, spec.mac));
    HVMM_TRY_VOID(machine.pci_host().add(nic, slot));
    backend.set_sink(&nic.chip());
    PcnetChip& chip = nic.chip();
    EventLoop& loop = machine.event_loop();

    auto& receiver = machine.keep(std::make_unique<Receiver>(backend, chip, loop));
    HVMM_TRY_VOID(wire_receive(machine, receiver, options));

    BusDevice& io_window = *nic.bar_device(PcnetPci::kIoBar);
    if (options.kick) {
        HVMM_TRY_VOID(wire_silent_transmit_demand(machine, chip, io_window));
    } else if (options.ports) {
        // A RAP write only selects a register: KVM queues it and hvmm replays it, in order,
        // before the next RDP/BDP access exits. RAP moves when the driver switches to DWIO.
        auto follow_rap = [&machine, &io_window, &chip] {
            const auto rap = chip.rap_window();
            machine.coalesce_io_writes(io_window, rap.offset, rap.width);
        };
        follow_rap();
        chip.register_layout_hook = follow_rap;
    }
    if (options.combine) {
        HVMM_TRY_VOID(wire_send_combining(machine, chip));
    }
    auto& poller = machine.keep(std::make_unique<TransmitPoller>(chip, loop));
    poller.timer =
        HVMM_TRY(loop.add_timer(TransmitPollPacer::kBusyPeriod, [&poller] { poller.tick(); }));
    // The backend reports its link changes (a TAP set down or up on the host) only when asked.
    HVMM_TRY_VOID(loop.add_timer(kLinkPollPeriod, [&backend] { backend.refresh_link(); }));

    auto& stats = machine.stats();
    const std::string prefix = fmt::format("pcnet{}.", index);
    stats.add_counter(prefix + "tx_frames", [&chip] { return chip.counters().tx_frames; });
    stats.add_counter(prefix + "tx_batches", [&chip] { return chip.counters().tx_batches; });
    stats.add_counter(prefix + "tx_walks_deferred",
                      [&chip] { return chip.counters().tx_walks_deferred; });
    stats.add_counter(prefix + "rx_frames", [&chip] { return chip.counters().rx_frames; });
    stats.add_counter(prefix + "interrupts", [&chip] { return chip.counters().interrupts; });
    add_backend_counters(stats, backend, index);
    return {};
}

}  // namespace

Result<void> wire_nics(Machine& machine, std::span<const NicSpec> specs,
                       const NicOptimizations& optimizations) {
    for (unsigned i = 0; i < specs.size(); ++i) {
        switch (specs[i].model) {
            case NicModel::kPcnet:
                HVMM_TRY_VOID(wire_pcnet(machine, specs[i], i, optimizations));
                break;
            case NicModel::kVirtio:
                // --nic-opt names the PCnet's paper optimizations; a virtio NIC has none of
                // those costs to optimize (ioeventfd kicks, irqfd/MSI-X, batched notifications).
                machine.keep(HVMM_TRY(VirtioNic::create(machine, specs[i], i,
                                                        static_cast<uint8_t>(1 + i))));
                break;
        }
    }
    return {};
}

}  // namespace hvmm
