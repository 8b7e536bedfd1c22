// A whole virtual PC: guest memory, the KVM VM and its vCPUs (one thread each), the I/O-port and
// MMIO buses, the platform devices (COM1, i8042, RTC, ACPI power, PCI host bridge), the event
// loop of the I/O thread, and the run's lifecycle.
//
// Use: create(config); add devices (add_pci_function, io_bus().insert, irq_line(gsi),
// event_loop().add_fd/add_timer, keep(...)); run() boots the kernel and blocks until the guest
// powers off, resets, triple-faults, or a signal ends it. run() joins every vCPU thread before it
// returns; the Machine's destructor frees devices only after that.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/event_loop.h"
#include "base/signal_fd.h"
#include "bus/bus.h"
#include "devices/pci/pci_host_bridge.h"
#include "devices/platform/acpi_power.h"
#include "devices/platform/cmos_rtc.h"
#include "devices/platform/i8042.h"
#include "devices/platform/misc_ports.h"
#include "devices/platform/power_events.h"
#include "devices/serial/console_output.h"
#include "devices/serial/uart16550.h"
#include "irq/kvm_irq_line.h"
#include "irq/kvm_msi_router.h"
#include "kvm/kvm.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "memory/guest_memory.h"
#include "sandbox/thread_role.h"
#include "stats/machine_stats.h"
#include "vmm/bar_eventfd_registry.h"
#include "vmm/console_input.h"
#include "vmm/machine_config.h"
#include "vmm/run_outcome.h"

namespace hvmm {

class Machine final : private PowerEvents {
  public:
    static Result<std::unique_ptr<Machine>> create(const MachineConfig& config);
    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;
    ~Machine() override;

    // Boots the configured kernel and runs until the guest or a signal ends the run. An error
    // starting the VM is returned as an error; everything after that is a RunOutcome.
    Result<RunOutcome> run();

    // Ends the run from any thread (first request wins): vCPUs are kicked, the loop stops.
    void request_stop(RunOutcome outcome);

    // For device wiring before run().
    const GuestMemory& memory() const { return memory_; }
    const kvm::Vm& vm() const { return *vm_; }
    IoBus& io_bus() { return io_bus_; }
    MmioBus& mmio_bus() { return mmio_bus_; }
    EventLoop& event_loop() { return *event_loop_; }
    stats::MachineStats& stats() { return *stats_; }
    pci::PciHostBridge& pci_host() { return *pci_host_; }
    Uart16550& uart() { return *uart_; }
    // The machine's interrupt line for a GSI (made on first use; counted in the statistics).
    IrqLine& irq_line(uint32_t gsi, std::string_view user);
    // Guest writes to [offset, offset + length) of an I/O BAR's window go through KVM's
    // coalesced PIO ring wherever the guest maps the BAR (length 0: none). Callable again to
    // move the range (from a vCPU thread, say, when a device changes its register layout).
    void coalesce_io_writes(BusDevice& window, uint16_t offset, uint16_t length);
    // Guest writes of exactly `value` (width bytes) at offset of an I/O BAR's window signal
    // event_fd inside KVM, without an exit, wherever the guest maps the BAR. Callable again with
    // the same event_fd to move it.
    void bind_io_eventfd(BusDevice& window, int event_fd, uint16_t offset, uint16_t width,
                         uint64_t value);
    // The same for either kind of BAR, the value optional: a virtio notify region binds each
    // queue's kick fd with (window, kMmio, fd, queue's notify offset, 2, std::nullopt), since
    // drivers write the queue index as 16 bits. Registered with KVM when the guest maps the BAR,
    // moved with it, removed when it is unmapped or its decode is turned off (see
    // BarEventfdRegistry: the window must still handle the write itself when it exits).
    Result<void> bind_bar_eventfd(BusDevice& window, pci::BarKind kind, int event_fd,
                                  uint64_t offset, uint32_t width, std::optional<uint64_t> value) {
        return bar_eventfds_->bind_eventfd(window, kind, event_fd, offset, width, value);
    }
    void unbind_bar_eventfd(BusDevice& window, int event_fd) {
        bar_eventfds_->unbind_eventfd(window, event_fd);
    }
    BarEventfdRegistry& bar_eventfds() { return *bar_eventfds_; }
    // Where the machine's MSI-X tables send their messages (KVM GSI routes and irqfds), made on
    // first use (while wiring, before run(): its counters join the statistics then); an error
    // names the KVM capability this host lacks. Stable for the machine's life, and it outlives
    // every device kept by keep().
    Result<pci::MsiRouter*> msi_router();
    // Called on the vCPU thread after every exit it handles (the baseline's poll of the
    // backends). Add before run().
    void add_exit_poller(std::function<void()> poller) { exit_pollers_.push_back(std::move(poller)); }
    // Plugs a PCI function in; its BARs are placed at run() (assign_initial_resources).
    Result<uint8_t> add_pci_function(pci::PciFunction& function);
    // Keeps an object (a device, a backend) alive as long as the machine.
    template <class T>
    T& keep(std::unique_ptr<T> object) {
        T& reference = *object;
        kept_.push_back(std::shared_ptr<void>(std::move(object)));
        return reference;
    }

    uint32_t cpu_count() const { return static_cast<uint32_t>(vcpus_.size()); }

  private:
    explicit Machine(MachineConfig config, kvm::Kvm kvm, GuestMemory memory);
    Result<void> build();
    Result<void> add_platform_devices();
    Result<void> configure_vcpus();
    Result<void> load_kernel();
    void apply_bar_change(const pci::BarChange& change);
    void vcpu_loop(kvm::Vcpu& vcpu);
    // The calling thread's seccomp filter (nothing unless the sandbox is prepared); on failure
    // the run stops with the error and false is returned.
    bool enter_sandbox(sandbox::ThreadRole role);
    // Handles one exit; false when the run must end.
    bool handle_exit(kvm::Vcpu& vcpu, const kvm::VcpuExit& exit, stats::VcpuStats& stats);
    void kick_vcpus();
    void on_signal();

    // PowerEvents, from the i8042 and the ACPI registers (on a vCPU thread).
    void reset_requested() override;
    void poweroff_requested() override;

    MachineConfig config_;
    // Declaration order is construction order; destruction runs backwards, so the devices go
    // before the buses and the VM, and the VM before the memory it maps.
    kvm::Kvm kvm_;
    GuestMemory memory_;
    std::optional<kvm::Vm> vm_;
    std::vector<std::unique_ptr<kvm::Vcpu>> vcpus_;
    // After the VM they program, before the devices that use them (destroyed after those).
    std::unique_ptr<BarEventfdRegistry> bar_eventfds_;
    std::mutex msi_router_mutex_;
    std::unique_ptr<KvmMsiRouter> msi_router_;
    std::unique_ptr<stats::MachineStats> stats_;
    std::unique_ptr<EventLoop> event_loop_;
    std::optional<SignalFd> signals_;
    IoBus io_bus_;
    MmioBus mmio_bus_;
    std::mutex irq_lines_mutex_;
    std::vector<std::unique_ptr<KvmIrqLine>> irq_lines_;
    std::unique_ptr<ConsoleOutput> console_output_;
    std::unique_ptr<Uart16550> uart_;
    std::unique_ptr<I8042> i8042_;
    std::unique_ptr<CmosRtc> rtc_;
    std::unique_ptr<MiscPorts> misc_ports_;
    std::unique_ptr<AcpiPower> acpi_power_;
    // Before the bridge: the functions it holds must outlive it.
    std::vector<std::shared_ptr<void>> kept_;
    std::unique_ptr<pci::PciHostBridge> pci_host_;
    std::unique_ptr<ConsoleInput> console_input_;

    std::mutex coalesced_mutex_;  // the VM's one coalesced ring, drained by any vCPU
    std::vector<std::function<void()>> exit_pollers_;
    std::atomic<bool> stopping_{false};
    std::mutex outcome_mutex_;
    std::optional<RunOutcome> outcome_;
    std::vector<std::thread> vcpu_threads_;
    std::vector<pthread_t> vcpu_handles_;
};

}  // namespace hvmm
