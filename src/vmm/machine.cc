#include "vmm/machine.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include "base/cpu_list.h"
#include "base/log.h"
#include "base/terminal_raw_mode.h"
#include "boot/linux_loader.h"
#include "base/syscall_count.h"
#include "sandbox/privileges.h"
#include "sandbox/seccomp_sandbox.h"
#include "vmm/exit_dispatch.h"

namespace hvmm {
namespace {

// The signal that kicks a vCPU thread out of KVM_RUN. Its handler does nothing: the point is
// the EINTR.
int kick_signal() {
    return SIGRTMIN;
}

void install_kick_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action {};
        action.sa_handler = [](int) {};
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return
        ::sigaction(kick_signal(), &action, nullptr);
    });
}

// The registers a triple fault is diagnosed from, on one line: where the guest was (RIP, RSP,
// CS), what it faulted on (CR2), which tables it used (CR3, IDT, GDT) and its mode (CR0/CR4/EFER).
std::string describe_cpu_state(const kvm::Vcpu& vcpu) {
    auto regs = vcpu.get_regs();
    auto sregs = vcpu.get_sregs();
    if (!regs || !sregs) {
        return "registers unavailable";
    }
    return fmt::format(
        "rip={:#x} rsp={:#x} rflags={:#x} cs={:#x} cr0={:#x} cr2={:#x} cr3={:#x} cr4={:#x} "
        "efer={:#x} idt={:#x}/{:#x} gdt={:#x}/{:#x} tr={:#x}/{:#x}",
        regs->rip, regs->rsp, regs->rflags, sregs->cs.selector, sregs->cr0, sregs->cr2,
        sregs->cr3, sregs->cr4, sregs->efer, sregs->idt.base, sregs->idt.limit, sregs->gdt.base,
        sregs->gdt.limit, sregs->tr.base, sregs->tr.limit);
}

}  // namespace

Result<std::unique_ptr<Machine>> Machine::create(const MachineConfig& config) {
    if (config.cpu_count == 0 || config.cpu_count > 255) {
        return fail("--cpus {} is out of range: 1 to 255 vCPUs", config.cpu_count);
    }
    kvm::Kvm kvm = HVMM_TRY(kvm::Kvm::open());
    GuestMemory memory = HVMM_TRY(GuestMemory::create(config.memory_bytes));
    auto machine = std::unique_ptr<Machine>(new Machine(config, std::move(kvm), std::move(memory)));
    HVMM_TRY_VOID(machine->build());
    return machine;
}

Machine::Machine(MachineConfig config, kvm::Kvm kvm, GuestMemory memory)
    : config_(std::move(config)), kvm_(std::move(kvm)), memory_(std::move(memory)) {}

Machine::~Machine() {
    // run() joins its threads on every path; this covers a Machine destroyed mid-way.
    stopping_.store(true);
    kick_vcpus();
    for (auto& thread : vcpu_threads_) {
        if (thread.joinable())
            thread.join();
    }
    console_input_.reset();
}

Result<void> Machine::build() {
    // Before any thread exists (the console writer is the first), so every thread inherits the
    // blocked mask and SIGINT/SIGTERM arrive only through the signalfd.
    signals_.emplace(HVMM_TRY(SignalFd::create({SIGINT, SIGTERM})));
    install_kick_handler();

    vm_.emplace(HVMM_TRY(kvm::Vm::create(kvm_)));
    HVMM_TRY_VOID(vm_->map_memory(memory_));
    bar_eventfds_ = std::make_unique<BarEventfdRegistry>(make_vm_io_shortcut_ops(*vm_));
    for (uint32_t id = 0; id < config_.cpu_count; ++id) {
        vcpus_.push_back(HVMM_TRY(kvm::Vcpu::create(*vm_, id)));
    }
    stats_ = std::make_unique<stats::MachineStats>(config_.cpu_count);
    stats_->add_counter("bar_shortcut_refusals",
                        [registry = bar_eventfds_.get()] { return registry->counters().refusals; });
    event_loop_ = HVMM_TRY(EventLoop::create());
    HVMM_TRY_VOID(configure_vcpus());
    HVMM_TRY_VOID(add_platform_devices());
    return {};
}

Result<void> Machine::configure_vcpus() {
    auto supported = HVMM_TRY(kvm_.supported_cpuid());
    if (kvm_.has(KVM_CAP_TSC_DEADLINE_TIMER)) {
        supported = kvm::with_tsc_deadline_timer(std::move(supported));
    }
    for (auto& vcpu : vcpus_) {
        HVMM_TRY_VOID(vcpu->set_cpuid(kvm::cpuid_for_vcpu(supported, vcpu->id(), cpu_count())));
        HVMM_TRY_VOID(vcpu->configure_lapic_lints());
        if (vcpu->id() != 0) {
            // Application processors wait for the boot CPU's INIT-SIPI-SIPI.
            HVMM_TRY_VOID(vcpu->set_mp_state(KVM_MP_STATE_UNINITIALIZED));
        }
    }
    return {};
}

IrqLine& Machine::irq_line(uint32_t gsi, std::string_view user) {
    std::lock_guard lock(irq_lines_mutex_);
    for (auto& line : irq_lines_) {
        if (line->gsi() == gsi)
            return *line;
    }
    auto& line = *irq_lines_.emplace_back(std::make_unique<KvmIrqLine>(*vm_, gsi));
    stats_->add_interrupt_source(fmt::format("gsi{} {}", gsi, user),
                                 [&line] { return line.assertions(); });
    return line;
}

Result<void> Machine::add_platform_devices() {
    // Its writer starts with the run, after the privileges are dropped (see run()).
    console_output_ = std::make_unique<ConsoleOutput>(
        config_.console_fd, ConsoleOutput::kDefaultCapacity, ConsoleOutput::WriterStart::kLater);
    uart_ = std::make_unique<Uart16550>(*console_output_, irq_line(Uart16550::kCom1Irq, "com1"));
    HVMM_TRY_VOID(io_bus_.insert(*uart_, Uart16550::kCom1Base, Uart16550::kRegisterCount));
    stats_->add_counter("com1_bytes_out",
                        [uart = uart_.get()] { return uart->bytes_transmitted(); });
    // A guest flooding the console meets ConsoleOutput's bounded buffer: what did not fit.
    stats_->add_counter("com1_bytes_dropped",
                        [console = console_output_.get()] { return console->dropped_bytes(); });

    i8042_ = std::make_unique<I8042>(static_cast<PowerEvents&>(*this));
    HVMM_TRY_VOID(io_bus_.insert(*i8042_, I8042::kDataPort, 1));
    HVMM_TRY_VOID(io_bus_.insert(*i8042_, I8042::kCommandPort, 1));

    rtc_ = std::make_unique<CmosRtc>();
    HVMM_TRY_VOID(io_bus_.insert(*rtc_, CmosRtc::kIndexPort, 2));

    misc_ports_ = std::make_unique<MiscPorts>();
    HVMM_TRY_VOID(io_bus_.insert(*misc_ports_, MiscPorts::kSystemControlPortB, 1));
    HVMM_TRY_VOID(io_bus_.insert(*misc_ports_, MiscPorts::kPostCodePort, 1));
    HVMM_TRY_VOID(io_bus_.insert(*misc_ports_, MiscPorts::kDelayPort, 1));

    acpi_power_ = std::make_unique<AcpiPower>(static_cast<PowerEvents&>(*this));
    HVMM_TRY_VOID(io_bus_.insert(*acpi_power_, AcpiPower::kBase, AcpiPower::kPortCount));

    pci_host_ = std::make_unique<pci::PciHostBridge>(
        [this](const pci::BarChange& change) { apply_bar_change(change); });
    HVMM_TRY_VOID(io_bus_.insert(*pci_host_, pci::PciHostBridge::kConfigAddressPort,
                                 pci::PciHostBridge::kPortCount));
    return {};
}

Result<uint8_t> Machine::add_pci_function(pci::PciFunction& function) {
    return pci_host_->add(function);
}

void Machine::apply_bar_change(const pci::BarChange& change) {
    if (change.function == nullptr)
        return;
    BusDevice* device = change.function->bar_device(change.bar);
    if (device == nullptr)
        return;
    Bus& bus = change.kind == pci::BarKind::kIo ? static_cast<Bus&>(io_bus_) : mmio_bus_;
    if (change.old_base) {
        bus.remove(*device, *change.old_base);
    }
    std::optional<uint64_t> mapped_at;
    if (change.new_base) {
        if (auto inserted = bus.insert(*device, *change.new_base, change.size); !inserted) {
            // The guest placed a BAR over another range: it stays unmapped until moved.
            static log::RateLimitedWarning warning;
            warning("{} BAR {}: {}", change.function->name(), change.bar, inserted.error().message);
        } else {
            mapped_at = *change.new_base;
        }
    }
    bar_eventfds_->bar_changed(*device, change.kind, mapped_at);
}

void Machine::bind_io_eventfd(BusDevice& window, int event_fd, uint16_t offset, uint16_t width,
                              uint64_t value) {
    if (auto bound =
            bar_eventfds_->bind_eventfd(window, pci::BarKind::kIo, event_fd, offset, width, value);
        !bound) {
        // Still correct without it: the writes exit as usual.
        static log::RateLimitedWarning warning;
        warning("{}", bound.error().message);
    }
}

void Machine::coalesce_io_writes(BusDevice& window, uint16_t offset, uint16_t length) {
    bar_eventfds_->coalesce_writes(window, pci::BarKind::kIo, offset, length);
}

Result<pci::MsiRouter*> Machine::msi_router() {
    std::lock_guard lock(msi_router_mutex_);
    if (!msi_router_) {
        msi_router_ = HVMM_TRY(KvmMsiRouter::create(*vm_));
        KvmMsiRouter* router = msi_router_.get();
        stats_->add_counter("msi_bindings", [router] { return router->counters().bindings; });
        stats_->add_counter("msi_routing_updates",
                            [router] { return router->counters().routing_updates; });
        stats_->add_counter("msi_signals", [router] { return router->counters().signals; });
        stats_->add_counter("msi_failures", [router] { return router->counters().failures; });
    }
    return msi_router_.get();
}

Result<void> Machine::load_kernel() {
    HVMM_TRY_VOID(pci_host_->assign_initial_resources());
    boot::LinuxBootSpec spec;
    spec.kernel_path = config_.kernel_path;
    spec.initrd_path = config_.initrd_path;
    spec.vmlinux_path = config_.vmlinux_path;
    spec.cmdline = config_.cmdline;
    spec.cpu_count = cpu_count();
    const boot::CpuState state = HVMM_TRY(boot::load_linux(memory_, spec));

    kvm::Vcpu& boot_cpu = *vcpus_.front();
    kvm_sregs sregs = HVMM_TRY(boot_cpu.get_sregs());
    auto to_kvm = [](const boot::Segment& segment) {
        kvm_segment out{};
        out.base = segment.base;
        out.limit = segment.limit;
        out.selector = segment.selector;
        out.type = segment.type;
        out.present = segment.present;
        out.dpl = segment.dpl;
        out.db = segment.db;
        out.s = segment.s;
        out.l = segment.l;
        out.g = segment.g;
        return out;
    };
    sregs.cs = to_kvm(state.code);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = to_kvm(state.data);
    sregs.gdt.base = state.gdt_base;
    sregs.gdt.limit = state.gdt_limit;
    sregs.cr0 = state.cr0;
    sregs.cr3 = state.cr3;
    sregs.cr4 = state.cr4;
    sregs.efer = state.efer;
    HVMM_TRY_VOID(boot_cpu.set_sregs(sregs));

    kvm_regs regs{};
    regs.rip = state.rip;
    regs.rsi = state.rsi;
    regs.rsp = state.rsp;
    regs.rflags = state.rflags;
    HVMM_TRY_VOID(boot_cpu.set_regs(regs));
    return {};
}

Result<RunOutcome> Machine::run() {
    const auto load_start = std::chrono::steady_clock::now();
    HVMM_TRY_VOID(load_kernel());
    log::debug("kernel and initrd loaded in {} ms",
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - load_start)
                   .count());

    std::optional<TerminalRawMode> raw_terminal;
    if (config_.console_input) {
        raw_terminal = HVMM_TRY(TerminalRawMode::enter(STDIN_FILENO));
        console_input_ = HVMM_TRY(ConsoleInput::create(
            *uart_, *event_loop_, STDIN_FILENO, raw_terminal.has_value(), [this] {
                request_stop({StopReason::kUserQuit, exit_status_for_signal(SIGINT),
                              "quit from the console (Ctrl-A x)"});
            }));
    }
    HVMM_TRY_VOID(event_loop_->add_fd(signals_->fd(), [this](uint32_t) { on_signal(); }));

    // Everything that needs a privilege is open: give them up while this is the only thread, so
    // every thread made from here on starts without them.
    HVMM_TRY_VOID(sandbox::drop_privileges(config_.privileges));
    console_output_->start_writer([this] { enter_sandbox(sandbox::ThreadRole::kConsole); });
    vcpu_handles_.resize(vcpus_.size());
    for (auto& vcpu : vcpus_) {
        vcpu_threads_.emplace_back([this, &vcpu = *vcpu] { vcpu_loop(vcpu); });
        vcpu_handles_[vcpu->id()] = vcpu_threads_.back().native_handle();
    }
    std::thread io_thread([this] {
        ::pthread_setname_np(::pthread_self(), "io");
        // Before the sandbox, which has no call to change it. A host that refuses leaves the
        // thread as it was: slower on a shared CPU, not wrong.
        if (auto scheduled = set_current_thread_scheduling(config_.io_thread_scheduling);
            !scheduled) {
            log::warn("{}", scheduled.error().message);
        }
        if (!enter_sandbox(sandbox::ThreadRole::kIo))
            return;
        stats::syscall_sink = &stats_->io_thread_syscalls();
        event_loop_->run();  // until a stop is requested
        stats::syscall_sink = nullptr;
    });
    // This thread's own filter last: threads inherit their creator's, and it has made them all.
    enter_sandbox(sandbox::ThreadRole::kMain);
    io_thread.join();

    stopping_.store(true);
    kick_vcpus();
    for (auto& thread : vcpu_threads_) {
        thread.join();
    }
    vcpu_threads_.clear();
    console_input_.reset();
    event_loop_->remove_fd(signals_->fd());
    // The guest's last words before hvmm's own message.
    console_output_->flush();
    raw_terminal.reset();

    std::lock_guard lock(outcome_mutex_);
    if (outcome_ && outcome_->reason == StopReason::kSignal) {
        // Where a guest that had to be killed was: the first clue to a hang (-v).
        for (const auto& vcpu : vcpus_) {
            log::info("vCPU {} stopped at {}", vcpu->id(), describe_cpu_state(*vcpu));
        }
    }
    return outcome_.value_or(
        RunOutcome{StopReason::kError, kExitStatusError, "run ended without a reason"});
}

void Machine::request_stop(RunOutcome outcome) {
    {
        std::lock_guard lock(outcome_mutex_);
        if (outcome_)
            return;
        outcome_ = std::move(outcome);
    }
    stopping_.store(true);
    kick_vcpus();
    event_loop_->stop();
}

void Machine::kick_vcpus() {
    for (auto& vcpu : vcpus_) {
        vcpu->request_immediate_exit();
    }
    for (size_t i = 0; i < vcpu_threads_.size() && i < vcpu_handles_.size(); ++i) {
        // A thread not in KVM_RUN takes the no-op handler; immediate_exit covers the race where
        // it is about to enter.
        ::pthread_kill(vcpu_handles_[i], kick_signal());
    }
}

void Machine::on_signal() {
    const int signal_number = signals_->read_signal();
    if (signal_number == 0)
        return;
    request_stop({StopReason::kSignal, exit_status_for_signal(signal_number),
                  fmt::format("terminated by {}", signal_number == SIGINT ? "SIGINT" : "SIGTERM")});
}

void Machine::reset_requested() {
    if (uart_->saw_kernel_panic()) {
        request_stop({StopReason::kPanicReset, kExitStatusPanic, "guest kernel panicked"});
    } else {
        request_stop({StopReason::kReboot, 0, "guest rebooted"});
    }
}

void Machine::poweroff_requested() {
    const int status = acpi_power_->guest_status().value_or(0);
    request_stop({StopReason::kPowerOff, status, ""});
}

bool Machine::enter_sandbox(sandbox::ThreadRole role) {
    if (auto entered = sandbox::enter(role); !entered) {
        request_stop({StopReason::kError, kExitStatusError, entered.error().message});
        return false;
    }
    return true;
}

void Machine::vcpu_loop(kvm::Vcpu& vcpu) {
    // Named so that top -H, the lab's placement and a profiler can tell the vCPUs apart.
    ::pthread_setname_np(::pthread_self(), fmt::format("vcpu{}", vcpu.id()).c_str());
    if (!config_.vcpu_cpus.empty()) {
        // Validated when the configuration was made; placing can still fail on this host (a
        // CPU offline or outside hvmm's cpuset): one warning, the vCPU runs unplaced.
        auto cpus = parse_cpu_list(config_.vcpu_cpus);
        if (auto placed = cpus ? pin_current_thread(*cpus, config_.vcpu_cpus) : Result<void>{}; !placed) {
            log::warn("vcpu{}: {}", vcpu.id(), placed.error().message);
        }
    }
    // vCPU threads take the kick signal; everything else stays blocked (inherited).
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, kick_signal());
    ::pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);

    if (!enter_sandbox(sandbox::ThreadRole::kVcpu))
        return;
    stats::VcpuStats& stats = stats_->vcpu(vcpu.id());
    stats::syscall_sink = &stats.syscalls();
    while (!stopping_.load(std::memory_order_acquire)) {
        auto exit = vcpu.run();
        if (!exit) {
            request_stop({StopReason::kError, kExitStatusError, exit.error().message});
            return;
        }
        if (auto* ring = vcpu.coalesced_ring(); ring && ring->first != ring->last) {
            std::lock_guard lock(coalesced_mutex_);
            drain_coalesced(*ring, io_bus_, mmio_bus_, vcpu.id(), &stats);
        }
        if (!handle_exit(vcpu, *exit, stats)) {
            return;
        }
        for (const auto& poller : exit_pollers_) {
            poller();
        }
    }
}

bool Machine::handle_exit(kvm::Vcpu& vcpu, const kvm::VcpuExit& exit, stats::VcpuStats& stats) {
    using stats::ExitKind;
    if (dispatch_bus_exit(exit, io_bus_, mmio_bus_, vcpu.id(), stats)) {
        return true;
    }
    if (std::holds_alternative<kvm::exit::Intr>(exit)) {
        stats.record_exit(ExitKind::kIntr, 0);
        return true;  // the loop re-checks stopping_
    }
    if (std::holds_alternative<kvm::exit::Hlt>(exit)) {
        // Only without an in-kernel irqchip; the machine always has one, so nothing to wake.
        stats.record_exit(ExitKind::kHlt, 0);
        request_stop(
            {StopReason::kError, kExitStatusError,
             fmt::format("vCPU {} halted with no interrupt controller to wake it", vcpu.id())});
        return false;
    }
    if (std::holds_alternative<kvm::exit::Shutdown>(exit)) {
        stats.record_exit(ExitKind::kShutdown, 0);
        if (uart_->saw_kernel_panic()) {
            request_stop({StopReason::kPanicReset, kExitStatusPanic, "guest kernel panicked"});
        } else {
            request_stop({StopReason::kTripleFault, kExitStatusTripleFault,
                          fmt::format("guest triple fault on vCPU {} (KVM_EXIT_SHUTDOWN); {}",
                                      vcpu.id(), describe_cpu_state(vcpu))});
        }
        return false;
    }
    if (const auto* event = std::get_if<kvm::exit::SystemEvent>(&exit)) {
        stats.record_exit(ExitKind::kSystemEvent, 0);
        switch (event->type) {
            case KVM_SYSTEM_EVENT_SHUTDOWN:
                poweroff_requested();
                break;
            case KVM_SYSTEM_EVENT_CRASH:
                request_stop({StopReason::kPanicReset, kExitStatusPanic, "guest reported a crash"});
                break;
            default:
                reset_requested();
                break;
        }
        return false;
    }
    if (const auto* internal = std::get_if<kvm::exit::InternalError>(&exit)) {
        stats.record_exit(ExitKind::kInternalError, 0);
        request_stop(
            {StopReason::kError, kExitStatusError,
             fmt::format("KVM internal error {} on vCPU {}", internal->suberror, vcpu.id())});
        return false;
    }
    if (const auto* failed = std::get_if<kvm::exit::FailEntry>(&exit)) {
        stats.record_exit(ExitKind::kFailEntry, 0);
        request_stop({StopReason::kError, kExitStatusError,
                      fmt::format("KVM could not enter vCPU {} (hardware reason {:#x})", vcpu.id(),
                                  failed->hardware_reason)});
        return false;
    }
    const auto& unknown = std::get<kvm::exit::Unknown>(exit);
    stats.record_exit(ExitKind::kUnknown, 0);
    request_stop(
        {StopReason::kError, kExitStatusError,
         fmt::format("unexpected KVM exit reason {} on vCPU {}", unknown.reason, vcpu.id())});
    return false;
}

}  // namespace hvmm
