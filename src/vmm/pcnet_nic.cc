#include "vmm/pcnet_nic.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>

#include "base/event_fd.h"
#include "base/syscall_count.h"
#include "devices/pcnet/pcnet_events.h"
#include "devices/pcnet/pcnet_pci.h"
#include "irq/irqfd_line.h"
#include "irq/pci_irq_routing.h"
#include "vmm/nic_backend_stats.h"
#include "vmm/transmit_poll_pacer.h"

namespace hvmm {
namespace {

// How often the backend's host-side link (a TAP's admin state) is re-read. pcnet32 looks at the
// chip's link every 2 s, so half a second keeps `ip link set NAME down` prompt for the guest at
// the cost of two ioctls.
constexpr auto kLinkPollPeriod = std::chrono::milliseconds(500);

class OwnedPcnetNic final : public PcnetNic, public PcnetEvents {
  public:
    OwnedPcnetNic(Machine& machine, unsigned index, const NicOptimizations& options,
                  std::unique_ptr<NetBackend> backend)
        : machine_(machine),
          loop_(machine.event_loop()),
          index_(index),
          options_(options),
          backend_(std::move(backend)),
          dma_(machine.memory()),
          receive_fd_(backend_->receive_fd()) {}

    Result<void> wire(const NicSpec& spec, uint8_t slot);

  private:
    // PcnetEvents, from the chip (vCPU threads, or the I/O thread's walks and polls).
    bool take_transmit_demand() override;
    void receive_resumed() override { resume_->signal(); }
    void register_layout_changed() override { follow_registers(); }
    PcnetSilentWrites fetch_silent_writes() override;

    Result<void> make_irq_line(uint8_t slot);
    Result<void> wire_receive();
    Result<void> wire_send_combining();
    Result<void> wire_silent_transmit_demand();
    Result<void> wire_timers();
    void add_counters();

    // Where the registers the optimizations bind are now (RAP and RDP move with DWIO).
    void follow_registers();
    // The backend's frames into the chip; one thread reads the backend at a time (its buffer is
    // shared), so the baseline's exit poller just skips a turn while the I/O thread has it.
    size_t poll_backend();
    void on_backend_readable();
    void on_receive_resumed();
    void on_poll_tick();

    PcnetChip& chip() { return pci_->chip(); }

    Machine& machine_;
    EventLoop& loop_;
    const unsigned index_;
    const NicOptimizations options_;
    // Declaration order is the order of construction, destruction runs backwards: the function
    // (and its chip) goes before the line, the DMA view and the backend it uses.
    std::unique_ptr<NetBackend> backend_;
    GuestMemoryDma dma_;
    std::unique_ptr<IrqfdLine> irqfd_;  // notify; otherwise the machine owns the line
    IrqLine* irq_ = nullptr;
    std::unique_ptr<PcnetPci> pci_;
    BusDevice* io_window_ = nullptr;

    // Receive.
    const int receive_fd_;
    std::mutex reading_;
    bool watching_ = false;  // the I/O thread's EPOLLIN watch is armed; I/O thread only
    std::optional<EventFd> resume_;

    // Send combining: the I/O thread's walk is scheduled once per batch.
    std::optional<EventFd> combine_kick_;
    std::atomic<bool> walk_scheduled_{false};

    // Silent writes (kick): KVM's ioeventfds for RAP := 0 and RDP := TDMD | INEA.
    std::optional<EventFd> silent_rap_zero_;
    std::optional<EventFd> silent_demand_;

    // The chip's poll timer and its pacing.
    uint64_t poll_timer_ = 0;
    TransmitPollPacer pacer_;
};

// The NIC's interrupt line: an irqfd (notify) or the machine's KVM_IRQ_LINE line (baseline).
Result<void> OwnedPcnetNic::make_irq_line(uint8_t slot) {
    const uint32_t gsi = pci::intx_gsi(slot, 0);
    const std::string user = fmt::format("pcnet{}", index_);
    if (!options_.notify) {
        irq_ = &machine_.irq_line(gsi, user);
        return {};
    }
    irqfd_ = HVMM_TRY(IrqfdLine::create(machine_.vm(), gsi, loop_));
    irq_ = irqfd_.get();
    machine_.stats().add_interrupt_source(fmt::format("gsi{} {}", gsi, user),
                                          [this] { return irqfd_->assertions(); });
    return {};
}

Result<void> OwnedPcnetNic::wire(const NicSpec& spec, uint8_t slot) {
    HVMM_TRY_VOID(make_irq_line(slot));
    pci_ = std::make_unique<PcnetPci>(dma_, *irq_, backend_.get(), spec.mac, *this);
    HVMM_TRY_VOID(machine_.pci_host().add(*pci_, slot));
    io_window_ = pci_->bar_device(PcnetPci::kIoBar);
    backend_->set_sink(&chip());

    HVMM_TRY_VOID(wire_receive());
    if (options_.kick) {
        HVMM_TRY_VOID(wire_silent_transmit_demand());
    }
    follow_registers();
    if (options_.combine) {
        HVMM_TRY_VOID(wire_send_combining());
    }
    HVMM_TRY_VOID(wire_timers());
    add_counters();
    return {};
}

size_t OwnedPcnetNic::poll_backend() {
    std::lock_guard lock(reading_);
    return backend_->poll_receive();
}

void OwnedPcnetNic::on_backend_readable() {
    // With no receive buffer in the chip the frames stay queued in the backend, whose fd stays
    // readable: a level-triggered watch would call straight back and spin the I/O thread. Stop
    // watching until the chip reports buffers (receive_resumed). A backend whose fd goes quiet
    // by itself stays watched: its fd also says when frames queued for sending can go
    // (StreamBackend), which must not wait for the guest's receive buffers.
    if (poll_backend() == 0 && !chip().can_receive() && !backend_->receive_fd_pauses_itself()) {
        if (loop_.modify_fd(receive_fd_, 0))
            watching_ = false;
    }
}

void OwnedPcnetNic::on_receive_resumed() {
    resume_->consume();
    poll_backend();
    if (receive_fd_ >= 0 && !watching_ && loop_.modify_fd(receive_fd_, EPOLLIN))
        watching_ = true;
}

Result<void> OwnedPcnetNic::wire_receive() {
    if (receive_fd_ >= 0) {
        watching_ = true;
        HVMM_TRY_VOID(loop_.add_fd(receive_fd_, [this](uint32_t) { on_backend_readable(); }));
    }
    // The guest returning receive buffers (a vCPU thread) resumes the backend on the I/O
    // thread. Only after the chip had to refuse a frame, so not on the common path.
    resume_.emplace(HVMM_TRY(EventFd::create()));
    HVMM_TRY_VOID(loop_.add_fd(resume_->fd(), [this](uint32_t) { on_receive_resumed(); }));

    if (!options_.notify && receive_fd_ >= 0) {
        // The paper's unoptimized path: every exit asks the host, with a poll() of its own,
        // whether frames arrived. (The I/O thread's watch stays for a guest that sits in HLT
        // and so never exits, as the paper's VMApp select()ed while the guest idled.)
        machine_.add_exit_poller([this] {
            pollfd entry{receive_fd_, POLLIN, 0};
            stats::count_syscall();
            if (::poll(&entry, 1, 0) > 0 && (entry.revents & POLLIN) != 0) {
                std::unique_lock lock(reading_, std::try_to_lock);
                if (lock.owns_lock())
                    backend_->poll_receive();
            }
        });
    }
    return {};
}

// Send combining: a transmit demand on a vCPU only schedules the I/O thread, once per batch;
// the I/O thread sends every frame queued by then and raises one transmit-done interrupt for
// the batch.
Result<void> OwnedPcnetNic::wire_send_combining() {
    combine_kick_.emplace(HVMM_TRY(EventFd::create()));
    HVMM_TRY_VOID(loop_.add_fd(combine_kick_->fd(), [this](uint32_t) {
        combine_kick_->consume();
        // Cleared before the walk: a demand arriving during it schedules another.
        walk_scheduled_.store(false, std::memory_order_release);
        chip().process_transmit_ring();
    }));
    chip().set_transmit_interrupt_per_walk(true);
    return {};
}

bool OwnedPcnetNic::take_transmit_demand() {
    if (!combine_kick_)
        return false;  // the chip walks the ring at once, on the demanding thread
    if (!walk_scheduled_.exchange(true, std::memory_order_acq_rel))
        combine_kick_->signal();
    return true;
}

// The transmit kick without an exit (nic_optimizations.h, "kick"): ioeventfds take RAP := 0 and
// RDP := 0x48 inside KVM; the chip resolves them in order (PcnetChip::SilentWrites), and the
// I/O thread resolves a pending transmit demand as soon as KVM signals it.
Result<void> OwnedPcnetNic::wire_silent_transmit_demand() {
    silent_rap_zero_.emplace(HVMM_TRY(EventFd::create()));
    silent_demand_.emplace(HVMM_TRY(EventFd::create()));
    HVMM_TRY_VOID(
        loop_.add_fd(silent_demand_->fd(), [this](uint32_t) { chip().resolve_silent_writes(); }));
    HVMM_TRY_VOID(
        loop_.add_fd(silent_rap_zero_->fd(), [this](uint32_t) { chip().resolve_silent_writes(); }));
    return {};
}

PcnetSilentWrites OwnedPcnetNic::fetch_silent_writes() {
    if (!silent_demand_)
        return {};
    return PcnetSilentWrites{silent_rap_zero_->consume(), silent_demand_->consume()};
}

void OwnedPcnetNic::follow_registers() {
    if (options_.kick) {
        const auto rap = chip().rap_window();
        const auto rdp = chip().rdp_window();
        machine_.bind_io_eventfd(*io_window_, silent_rap_zero_->fd(), rap.offset, rap.width, 0);
        machine_.bind_io_eventfd(*io_window_, silent_demand_->fd(), rdp.offset, rdp.width,
                                 PcnetChip::kSilentTransmitDemand);
    } else if (options_.ports) {
        // A RAP write only selects a register: KVM queues it and hvmm replays it, in order,
        // before the next RDP/BDP access exits. RAP moves when the driver switches to DWIO.
        const auto rap = chip().rap_window();
        machine_.coalesce_io_writes(*io_window_, rap.offset, rap.width);
    }
}

// The chip's demand share on a ring that outran its budget is one tick of its wire at 2 ms.
static_assert(TransmitPollPacer::kBusyPeriod == PcnetChip::kPollTick);

void OwnedPcnetNic::on_poll_tick() {
    const auto since_last =
        pacer_.idle() ? TransmitPollPacer::kIdlePeriod : TransmitPollPacer::kBusyPeriod;
    if (const auto period = pacer_.after_poll(chip().poll(since_last))) {
        // A timerfd that cannot be re-armed keeps its old period: slower or busier, still
        // correct.
        if (!loop_.set_timer_period(poll_timer_, *period))
            pacer_.revert();
    }
}

Result<void> OwnedPcnetNic::wire_timers() {
    poll_timer_ =
        HVMM_TRY(loop_.add_timer(TransmitPollPacer::kBusyPeriod, [this] { on_poll_tick(); }));
    // The backend reports its link changes (a TAP set down or up on the host) only when asked.
    HVMM_TRY_VOID(loop_.add_timer(kLinkPollPeriod, [this] { backend_->refresh_link(); }));
    return {};
}

void OwnedPcnetNic::add_counters() {
    auto& stats = machine_.stats();
    const std::string prefix = fmt::format("pcnet{}.", index_);
    stats.add_counter(prefix + "tx_frames", [this] { return chip().counters().tx_frames; });
    stats.add_counter(prefix + "tx_batches", [this] { return chip().counters().tx_batches; });
    stats.add_counter(prefix + "tx_walks_deferred",
                      [this] { return chip().counters().tx_walks_deferred; });
    stats.add_counter(prefix + "tx_walks_wire_paced",
                      [this] { return chip().counters().tx_walks_wire_paced; });
    stats.add_counter(prefix + "rx_frames", [this] { return chip().counters().rx_frames; });
    stats.add_counter(prefix + "interrupts", [this] { return chip().counters().interrupts; });
    add_backend_counters(stats, *backend_, index_);
}

}  // namespace

Result<std::unique_ptr<PcnetNic>> PcnetNic::create(Machine& machine, const NicSpec& spec,
                                                   unsigned index, uint8_t slot,
                                                   const NicOptimizations& optimizations) {
    auto nic = std::make_unique<OwnedPcnetNic>(machine, index, optimizations,
                                               HVMM_TRY(open_backend(spec)));
    HVMM_TRY_VOID(nic->wire(spec, slot));
    return std::unique_ptr<PcnetNic>(std::move(nic));
}

}  // namespace hvmm
