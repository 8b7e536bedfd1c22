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
#include "kvm/kvm.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "memory/guest_memory.h"
#include "stats/machine_stats.h"
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
    struct CoalescedWindow {
        BusDevice* window = nullptr;
        uint16_t offset = 0;
        uint16_t length = 0;
        std::optional<uint16_t> base;  // where the guest mapped the window
        bool registered = false;
    };
    void sync_coalesced_zone(CoalescedWindow& entry, std::optional<uint16_t> new_base,
                             uint16_t new_offset, uint16_t new_length);
    std::mutex coalesced_windows_mutex_;
    std::vector<CoalescedWindow> coalesced_windows_;
    struct EventfdBinding {
        BusDevice* window = nullptr;
        int event_fd = -1;
        uint16_t offset = 0;
        uint16_t width = 0;
        uint64_t value = 0;
        std::optional<uint16_t> base;
        bool registered = false;
    };
    void sync_eventfd_binding(EventfdBinding& binding, std::optional<uint16_t> new_base);
    std::vector<EventfdBinding> eventfd_bindings_;  // under coalesced_windows_mutex_
    std::vector<std::function<void()>> exit_pollers_;
    std::atomic<bool> stopping_{false};
    std::mutex outcome_mutex_;
    std::optional<RunOutcome> outcome_;
    std::vector<std::thread> vcpu_threads_;
    std::vector<pthread_t> vcpu_handles_;
};

}  // namespace hvmm
