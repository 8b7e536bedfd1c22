// A 16550A UART (National Semiconductor PC16550D datasheet) as COM1: eight registers, 16-byte
// FIFOs, the interrupt identification priorities, modem control with loopback. Transmission is
// instant (THR is always empty again by the next access), so baud rate and line settings are
// stored for the guest to read back and have no other effect.
//
// Thread safety: vCPU threads access the registers; the I/O thread pushes host input with
// receive(). One mutex covers both.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>

#include "bus/bus_device.h"
#include "devices/serial/serial_output.h"
#include "irq/irq_line.h"

namespace hvmm {

class Uart16550 final : public BusDevice {
  public:
    static constexpr uint16_t kCom1Base = 0x3F8;
    static constexpr uint32_t kCom1Irq = 4;
    static constexpr uint64_t kRegisterCount = 8;
    static constexpr size_t kFifoSize = 16;

    // Register offsets (DLAB = LCR bit 7 selects the divisor latch at 0 and 1).
    enum class Reg : uint8_t {
        kData = 0,             // RBR (read) / THR (write) / DLL (DLAB)
        kInterruptEnable = 1,  // IER / DLM (DLAB)
        kInterruptIdent = 2,   // IIR (read) / FCR (write)
        kLineControl = 3,      // LCR
        kModemControl = 4,     // MCR
        kLineStatus = 5,       // LSR
        kModemStatus = 6,      // MSR
        kScratch = 7,          // SCR
    };

    // output and irq must outlive the UART.
    Uart16550(SerialOutput& output, IrqLine& irq);

    void read(const BusAccess& access, std::span<uint8_t> data) override;
    void write(const BusAccess& access, std::span<const uint8_t> data) override;
    std::string_view name() const override { return "uart-16550a"; }

    // Host input (the I/O thread). Takes as many bytes as the receive FIFO has room for and
    // returns that count; the caller keeps the rest and retries after on_rx_space fires.
    size_t receive(std::span<const uint8_t> bytes);
    // Called (from the vCPU thread, without the UART's lock) when the guest empties the receive
    // FIFO after receive() had to refuse bytes.
    void set_rx_space_callback(std::function<void()> callback);

    // True once the guest's output contained "Kernel panic - not syncing".
    bool saw_kernel_panic() const { return kernel_panic_.load(std::memory_order_acquire); }
    uint64_t bytes_transmitted() const { return transmitted_.load(std::memory_order_relaxed); }

  private:
    uint8_t read_register(uint8_t offset);
    void write_register(uint8_t offset, uint8_t value);
    void transmit(uint8_t byte);
    void watch_for_panic(uint8_t byte);
    // The rx-space callback, once, if refused input can now be offered again.
    std::function<void()> take_rx_space_callback();
    uint8_t line_status() const;
    uint8_t modem_status() const;
    uint8_t interrupt_identification() const;
    size_t rx_capacity() const { return fifo_enabled_ ? kFifoSize : 1; }
    // Drives the IRQ output; a new event while it is already high gives a fresh edge, since ISA
    // interrupts are edge-triggered and a held level would raise nothing.
    void update_irq(bool new_event = false);

    SerialOutput& output_;
    IrqLine& irq_;
    mutable std::mutex mutex_;

    std::deque<uint8_t> rx_fifo_;
    uint8_t divisor_low_ = 0x0C;  // 9600 baud, what firmware would leave
    uint8_t divisor_high_ = 0;
    uint8_t interrupt_enable_ = 0;
    uint8_t line_control_ = 0x03;   // 8N1
    uint8_t modem_control_ = 0x08;  // OUT2, which PC UARTs need to route their IRQ
    uint8_t scratch_ = 0;
    uint8_t fifo_control_ = 0;  // the trigger-level bits of the last FCR write
    bool fifo_enabled_ = false;
    bool overrun_ = false;
    bool thr_interrupt_pending_ = false;
    uint8_t modem_status_deltas_ = 0;
    bool irq_level_ = false;
    bool rx_refused_ = false;
    std::function<void()> on_rx_space_;

    size_t panic_match_ = 0;
    std::atomic<bool> kernel_panic_{false};
    std::atomic<uint64_t> transmitted_{0};
};

}  // namespace hvmm
