#include "devices/serial/uart16550.h"

#include <algorithm>

#include "base/log.h"

namespace hvmm {
namespace {

// IER bits.
constexpr uint8_t kIerReceivedData = 0x01;
constexpr uint8_t kIerThrEmpty = 0x02;
constexpr uint8_t kIerLineStatus = 0x04;
constexpr uint8_t kIerModemStatus = 0x08;
constexpr uint8_t kIerMask = 0x0F;

// IIR values (bit 0 clear = interrupt pending), highest priority first.
constexpr uint8_t kIirNoInterrupt = 0x01;
constexpr uint8_t kIirLineStatus = 0x06;
constexpr uint8_t kIirReceivedData = 0x04;
constexpr uint8_t kIirCharacterTimeout = 0x0C;
constexpr uint8_t kIirThrEmpty = 0x02;
constexpr uint8_t kIirModemStatus = 0x00;
constexpr uint8_t kIirFifosEnabled = 0xC0;

// FCR bits.
constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;
constexpr uint8_t kFcrTriggerMask = 0xC0;

constexpr uint8_t kLcrDlab = 0x80;

// LSR bits.
constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrOverrun = 0x02;
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrTransmitterEmpty = 0x40;

// MCR bits.
constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoopback = 0x10;
constexpr uint8_t kMcrMask = 0x1F;

// MSR bits.
constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;

constexpr std::string_view kPanicMarker = "Kernel panic - not syncing";

}  // namespace

Uart16550::Uart16550(SerialOutput& output, IrqLine& irq) : output_(output), irq_(irq) {}

void Uart16550::read(const BusAccess& access, std::span<uint8_t> data) {
    // Registers are 8 bits wide; a wider access reads consecutive registers, as the ISA bus would
    // split it.
    std::function<void()> rx_space_callback;
    {
        std::lock_guard lock(mutex_);
        for (size_t i = 0; i < data.size(); ++i) {
            const uint64_t offset = access.offset + i;
            data[i] = offset < kRegisterCount ? read_register(static_cast<uint8_t>(offset)) : 0xff;
        }
        rx_space_callback = take_rx_space_callback();
    }
    // Called without our lock: it may take the I/O thread's.
    if (rx_space_callback) {
        rx_space_callback();
    }
}

std::function<void()> Uart16550::take_rx_space_callback() {
    if (rx_refused_ && rx_fifo_.empty()) {
        rx_refused_ = false;
        return on_rx_space_;
    }
    return {};
}

void Uart16550::write(const BusAccess& access, std::span<const uint8_t> data) {
    std::function<void()> rx_space_callback;
    {
        std::lock_guard lock(mutex_);
        for (size_t i = 0; i < data.size(); ++i) {
            const uint64_t offset = access.offset + i;
            if (offset < kRegisterCount) {
                write_register(static_cast<uint8_t>(offset), data[i]);
            }
        }
        rx_space_callback = take_rx_space_callback();  // an FCR write may have emptied the FIFO
    }
    if (rx_space_callback) {
        rx_space_callback();
    }
}

uint8_t Uart16550::read_register(uint8_t offset) {
    const bool dlab = (line_control_ & kLcrDlab) != 0;
    switch (static_cast<Reg>(offset)) {
        case Reg::kData: {
            if (dlab) {
                return divisor_low_;
            }
            if (rx_fifo_.empty()) {
                return 0;
            }
            const uint8_t byte = rx_fifo_.front();
            rx_fifo_.pop_front();
            update_irq();
            return byte;
        }
        case Reg::kInterruptEnable:
            return dlab ? divisor_high_ : interrupt_enable_;
        case Reg::kInterruptIdent: {
            const uint8_t ident = interrupt_identification();
            // Reading IIR while it reports THR empty acknowledges that interrupt.
            if ((ident & 0x0F) == kIirThrEmpty) {
                thr_interrupt_pending_ = false;
                update_irq();
            }
            return ident | (fifo_enabled_ ? kIirFifosEnabled : 0);
        }
        case Reg::kLineControl:
            return line_control_;
        case Reg::kModemControl:
            return modem_control_;
        case Reg::kLineStatus: {
            const uint8_t status = line_status();
            overrun_ = false;  // error bits clear on read
            update_irq();
            return status;
        }
        case Reg::kModemStatus: {
            const uint8_t status = modem_status();
            modem_status_deltas_ = 0;
            update_irq();
            return status;
        }
        case Reg::kScratch:
            return scratch_;
    }
    return 0xff;
}

void Uart16550::write_register(uint8_t offset, uint8_t value) {
    const bool dlab = (line_control_ & kLcrDlab) != 0;
    switch (static_cast<Reg>(offset)) {
        case Reg::kData:
            if (dlab) {
                divisor_low_ = value;
                return;
            }
            transmit(value);
            // The byte left at once: THR is empty again, which is a new THRE event.
            thr_interrupt_pending_ = true;
            update_irq(true);
            return;
        case Reg::kInterruptEnable: {
            if (dlab) {
                divisor_high_ = value;
                return;
            }
            const uint8_t enabled_now = value & kIerMask & ~interrupt_enable_;
            interrupt_enable_ = value & kIerMask;
            // Enabling the THRE interrupt while THR is empty raises it at once (the chip does;
            // Linux's 8250 driver relies on it to start transmitting).
            if (enabled_now & kIerThrEmpty) {
                thr_interrupt_pending_ = true;
            }
            update_irq(enabled_now != 0);
            return;
        }
        case Reg::kInterruptIdent:  // FCR
            fifo_enabled_ = (value & kFcrEnable) != 0;
            fifo_control_ = value & kFcrTriggerMask;
            if ((value & kFcrClearRx) || !fifo_enabled_) {
                rx_fifo_.clear();
                overrun_ = false;
            }
            // Clearing TX has nothing to clear: transmission is instant.
            update_irq();
            return;
        case Reg::kLineControl:
            line_control_ = value;
            return;
        case Reg::kModemControl: {
            const uint8_t before = modem_status();
            modem_control_ = value & kMcrMask;
            const uint8_t after = modem_status();
            // In loopback the modem inputs follow the outputs; changes set the delta bits
            // (DCTS, DDSR, DDCD; TERI only on RI's falling edge).
            const uint8_t changed = (before ^ after) & (kMsrCts | kMsrDsr | kMsrDcd);
            modem_status_deltas_ |= changed >> 4;
            if ((before & kMsrRi) && !(after & kMsrRi)) {
                modem_status_deltas_ |= 0x04;
            }
            update_irq(changed != 0);
            return;
        }
        case Reg::kLineStatus:
        case Reg::kModemStatus:
            return;  // read-only here (factory test use only)
        case Reg::kScratch:
            scratch_ = value;
            return;
    }
}

void Uart16550::transmit(uint8_t byte) {
    if (modem_control_ & kMcrLoopback) {
        // Loopback: the byte comes back to the receiver and never leaves the chip.
        if (rx_fifo_.size() >= rx_capacity()) {
            overrun_ = true;
        } else {
            rx_fifo_.push_back(byte);
        }
        return;
    }
    transmitted_.fetch_add(1, std::memory_order_relaxed);
    watch_for_panic(byte);
    output_.write(std::span<const uint8_t>(&byte, 1));
}

void Uart16550::watch_for_panic(uint8_t byte) {
    // The marker's first letter does not recur in it, so a mismatch restarts the match at this
    // byte alone.
    if (byte == static_cast<uint8_t>(kPanicMarker[panic_match_])) {
        if (++panic_match_ == kPanicMarker.size()) {
            kernel_panic_.store(true, std::memory_order_release);
            panic_match_ = 0;
        }
    } else {
        panic_match_ = byte == static_cast<uint8_t>(kPanicMarker[0]) ? 1 : 0;
    }
}

uint8_t Uart16550::line_status() const {
    uint8_t status = kLsrThrEmpty | kLsrTransmitterEmpty;
    if (!rx_fifo_.empty()) {
        status |= kLsrDataReady;
    }
    if (overrun_) {
        status |= kLsrOverrun;
    }
    return status;
}

uint8_t Uart16550::modem_status() const {
    uint8_t inputs = 0;
    if (modem_control_ & kMcrLoopback) {
        if (modem_control_ & kMcrRts)
            inputs |= kMsrCts;
        if (modem_control_ & kMcrDtr)
            inputs |= kMsrDsr;
        if (modem_control_ & kMcrOut1)
            inputs |= kMsrRi;
        if (modem_control_ & kMcrOut2)
            inputs |= kMsrDcd;
    } else {
        // A console with a peer always there: carrier, data set ready, clear to send.
        inputs = kMsrCts | kMsrDsr | kMsrDcd;
    }
    return inputs | modem_status_deltas_;
}

uint8_t Uart16550::interrupt_identification() const {
    if ((interrupt_enable_ & kIerLineStatus) && overrun_) {
        return kIirLineStatus;
    }
    if ((interrupt_enable_ & kIerReceivedData) && !rx_fifo_.empty()) {
        // Below the trigger level the chip waits four character times and reports a timeout;
        // with instant transmission there is no time to wait, so report the timeout now.
        static constexpr size_t kTriggerLevels[] = {1, 4, 8, 14};
        const size_t trigger = fifo_enabled_ ? kTriggerLevels[fifo_control_ >> 6] : 1;
        return rx_fifo_.size() >= trigger ? kIirReceivedData : kIirCharacterTimeout;
    }
    if ((interrupt_enable_ & kIerThrEmpty) && thr_interrupt_pending_) {
        return kIirThrEmpty;
    }
    if ((interrupt_enable_ & kIerModemStatus) && (modem_status_deltas_ & 0x0F)) {
        return kIirModemStatus;
    }
    return kIirNoInterrupt;
}

void Uart16550::update_irq(bool new_event) {
    // In loopback the chip's interrupt output is disconnected from the pin; otherwise PC boards
    // gate it with OUT2, which every PC driver sets.
    const bool pending = (interrupt_identification() & kIirNoInterrupt) == 0;
    const bool routed = !(modem_control_ & kMcrLoopback) && (modem_control_ & kMcrOut2);
    const bool level = pending && routed;
    if (level && irq_level_ && new_event) {
        irq_.set_level(false);
        irq_.set_level(true);
    } else if (level != irq_level_) {
        irq_.set_level(level);
    }
    irq_level_ = level;
}

size_t Uart16550::receive(std::span<const uint8_t> bytes) {
    std::lock_guard lock(mutex_);
    const size_t room = rx_capacity() - std::min(rx_capacity(), rx_fifo_.size());
    const size_t taken = std::min(room, bytes.size());
    rx_fifo_.insert(rx_fifo_.end(), bytes.begin(), bytes.begin() + taken);
    if (taken < bytes.size()) {
        rx_refused_ = true;
    }
    if (taken > 0) {
        update_irq(true);
    }
    return taken;
}

void Uart16550::set_rx_space_callback(std::function<void()> callback) {
    std::lock_guard lock(mutex_);
    on_rx_space_ = std::move(callback);
}

}  // namespace hvmm
