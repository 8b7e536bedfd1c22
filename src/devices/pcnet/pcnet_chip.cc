#include "devices/pcnet/pcnet_chip.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "base/log.h"
#include "devices/pcnet/pcnet_address_filter.h"
#include "devices/pcnet/pcnet_init_block.h"

namespace hvmm {

using namespace pcnet;

namespace {

// One per call site, as log.h asks: each counts one kind of guest mistake.
log::RateLimitedWarning g_bad_access_warning;
log::RateLimitedWarning g_memory_error_warning;
log::RateLimitedWarning g_bad_style_warning;
log::RateLimitedWarning g_empty_ring_warning;
log::RateLimitedWarning g_tx_no_stp_warning;
log::RateLimitedWarning g_tx_no_enp_warning;
log::RateLimitedWarning g_tx_oversize_warning;
log::RateLimitedWarning g_rx_oversize_warning;

constexpr std::array<uint8_t, PcnetChip::kMinFrameSize> kZeroPadding{};

uint16_t bcr_reset_value(unsigned index) {
    switch (static_cast<Bcr>(index)) {
        case Bcr::BCR0:
        case Bcr::BCR1:
            return 0x0005;
        case Bcr::BCR2:
            return bcr2::kAsel;
        case Bcr::BCR4:
            return 0x00C0;  // pulse stretch, link status
        case Bcr::BCR5:
            return 0x0084;  // pulse stretch, receive
        case Bcr::BCR6:
            return 0x0088;  // pulse stretch, transmit
        case Bcr::BCR7:
            return 0x0090;  // pulse stretch, receive address match
        case Bcr::BCR18:
            return 0x9001;
        case Bcr::BCR19:
            return 0x0002;
        case Bcr::BCR20:
            return bcr20::kCsrpcnet;  // SWSTYLE 0, 16-bit structures
        case Bcr::BCR22:
            return 0xFF06;
        case Bcr::BCR35:
            return 0x1022;  // AMD
        default:
            return 0;
    }
}

uint16_t load16(std::span<const uint8_t> data) {
    return static_cast<uint16_t>(data[0] | (data.size() > 1 ? data[1] << 8 : 0));
}

void store_le(std::span<uint8_t> data, uint32_t value) {
    for (size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<uint8_t>(i < 4 ? value >> (8 * i) : 0);
    }
}

}  // namespace

PcnetChip::PcnetChip(DmaSpace& dma, IrqLine& irq, NetBackend* backend, MacAddress mac,
                     PcnetEvents& events)
    : dma_(dma), irq_(irq), backend_(backend), mac_(mac), events_(events) {
    std::lock_guard lock(mutex_);
    load_prom();
    reset_locked(true);
}

void PcnetChip::load_prom() {
    // Bytes 0-5 the station address, 6-11 reserved, 12-13 a checksum over the other bytes,
    // 14-15 the ASCII "WW" drivers look for to recognise a PCnet.
    prom_.fill(0);
    std::copy(mac_.bytes.begin(), mac_.bytes.end(), prom_.begin());
    prom_[14] = 'W';
    prom_[15] = 'W';
    uint16_t checksum = 0;
    for (size_t i = 0; i < prom_.size(); ++i) {
        if (i != 12 && i != 13)
            checksum = static_cast<uint16_t>(checksum + prom_[i]);
    }
    prom_[12] = static_cast<uint8_t>(checksum);
    prom_[13] = static_cast<uint8_t>(checksum >> 8);
}

void PcnetChip::reset() {
    bool layout_changed = false;
    {
        std::lock_guard lock(mutex_);
        layout_changed = dword_io_;
        reset_locked(true);
    }
    if (layout_changed)
        events_.register_layout_changed();
}

PcnetChip::PortWindow PcnetChip::rap_window() const {
    std::lock_guard lock(mutex_);
    return dword_io_ ? PortWindow{static_cast<uint16_t>(dwio::kRap), 4}
                     : PortWindow{static_cast<uint16_t>(wio::kRap), 2};
}

PcnetChip::PortWindow PcnetChip::rdp_window() const {
    std::lock_guard lock(mutex_);
    return dword_io_ ? PortWindow{static_cast<uint16_t>(dwio::kRdp), 4}
                     : PortWindow{static_cast<uint16_t>(wio::kRdp), 2};
}

void PcnetChip::apply_silent_writes(Deferred& deferred) {
    const SilentWrites pending = events_.fetch_silent_writes();
    counters_.silent_rap_zero += pending.rap_zero;
    counters_.silent_transmit_demands += pending.transmit_demand;
    if (pending.transmit_demand != 0) {
        if (rap_ == 0 || pending.rap_zero != 0) {
            // With RAP at 0 before, or set to 0 in between (assumed first when both happened
            // after a non-zero RAP: pcnet32 never writes 0x48 anywhere but CSR0).
            if (rap_ != 0)
                ++counters_.silent_ambiguous;
            write_csr(0, kSilentTransmitDemand, deferred);
        } else {
            write_csr(rap_, kSilentTransmitDemand, deferred);
        }
    }
    if (pending.rap_zero != 0)
        rap_ = 0;
}

void PcnetChip::resolve_silent_writes() {
    Deferred deferred;
    {
        const auto lock = lock_for_register_access();
        apply_silent_writes(deferred);
    }
    run(deferred);
}

void PcnetChip::set_transmit_interrupt_per_walk(bool on) {
    std::lock_guard lock(mutex_);
    tint_per_walk_ = on;
}

// H_RESET sets everything; S_RESET (a read of RESET) spares the BCRs, the I/O mode and the
// initialization block address, which is why pcnet32 can reset and re-INIT without rewriting
// CSR1/CSR2 or BCR20.
void PcnetChip::reset_locked(bool hardware) {
    if (hardware) {
        dword_io_ = false;
        for (unsigned i = 0; i < kBcrCount; ++i) bcr_[i] = bcr_reset_value(i);
        style_ = SoftwareStyle::kLance;
        phy_.reset();
        csr_.fill(0);
        rx_ring_ = Ring{};
        tx_ring_ = Ring{};
    }
    rap_ = 0;
    csr_[0] = csr0::kStop;
    csr_[3] = 0;
    csr_[4] = csr4::kResetValue;
    csr_[5] = 0;
    csr_[6] = 0;
    for (unsigned i = 8; i <= 11; ++i) csr_[i] = 0;
    for (unsigned i = 0; i < 3; ++i) {
        csr_[12 + i] = static_cast<uint16_t>(prom_[2 * i] | (prom_[2 * i + 1] << 8));
    }
    csr_[15] = 0;
    csr_[80] = 0x1410;
    csr_[82] = 0;
    csr_[100] = 0x0200;
    csr_[112] = 0;
    csr_[114] = 0;
    csr_[122] = 0;
    csr_[124] = 0;
    rx_ring_.index = 0;
    tx_ring_.index = 0;
    transmit_deferred_ = false;
    transmit_outran_budget_ = false;
    wire_credit_ = kPollWalkBudget.bytes;
    update_interrupt();
}

std::unique_lock<std::mutex> PcnetChip::lock_for_register_access() {
    register_waiters_.fetch_add(1, std::memory_order_relaxed);
    std::unique_lock lock(mutex_);
    register_waiters_.fetch_sub(1, std::memory_order_relaxed);
    return lock;
}

void PcnetChip::read(uint64_t offset, std::span<uint8_t> data) {
    Deferred deferred;
    {
        const auto lock = lock_for_register_access();
        read_locked(offset, data, deferred);
    }
    run(deferred);
}

void PcnetChip::read_locked(uint64_t offset, std::span<uint8_t> data, Deferred& deferred) {
    std::fill(data.begin(), data.end(), 0xFF);
    if (offset < kPromSize) {
        ++counters_.prom_reads;
        for (size_t i = 0; i < data.size() && offset + i < kPromSize; ++i) {
            data[i] = prom_[offset + i];
        }
        return;
    }
    const auto port = decode_port(offset, data.size());
    if (!port) {
        ++counters_.bad_accesses;
        g_bad_access_warning("pcnet: {}-byte read at offset {:#x} in {} mode ignored", data.size(),
                             offset, dword_io_ ? "DWIO" : "WIO");
        return;
    }
    uint32_t value = 0;
    if (rap_ != 0 && (*port == Port::kRdp || *port == Port::kBdp)) {
        apply_silent_writes(deferred);  // they may have moved RAP to 0
    }
    switch (*port) {
        case Port::kRdp:
            ++counters_.rdp_reads;
            value = read_csr(rap_);
            break;
        case Port::kRap:
            ++counters_.rap_reads;
            value = rap_;
            break;
        case Port::kReset:
            ++counters_.reset_reads;
            reset_locked(false);
            break;
        case Port::kBdp:
            ++counters_.bdp_reads;
            value = read_bcr(rap_);
            break;
    }
    store_le(data, value);
}

void PcnetChip::write(uint64_t offset, std::span<const uint8_t> data) {
    Deferred deferred;
    {
        const auto lock = lock_for_register_access();
        deferred = write_locked(offset, data);
    }
    run(deferred);
}

PcnetChip::Deferred PcnetChip::write_locked(uint64_t offset, std::span<const uint8_t> data) {
    Deferred deferred;
    if (offset < kPromSize) {
        ++counters_.prom_writes;  // the PROM is read-only
        return deferred;
    }
    // A 32-bit write to RDP switches the chip to DWIO until the next hardware reset.
    if (!dword_io_ && offset == dwio::kRdp && data.size() == 4) {
        dword_io_ = true;
        deferred.layout_changed = true;
    }
    const auto port = decode_port(offset, data.size());
    if (!port) {
        ++counters_.bad_accesses;
        g_bad_access_warning("pcnet: {}-byte write at offset {:#x} in {} mode ignored", data.size(),
                             offset, dword_io_ ? "DWIO" : "WIO");
        return deferred;
    }
    if (*port == Port::kRap || (rap_ != 0 && (*port == Port::kRdp || *port == Port::kBdp))) {
        apply_silent_writes(deferred);
    }
    // In DWIO mode the upper 16 bits of each register are reserved and ignored.
    const uint16_t value = load16(data);
    switch (*port) {
        case Port::kRdp:
            ++counters_.rdp_writes;
            write_csr(rap_, value, deferred);
            break;
        case Port::kRap:
            ++counters_.rap_writes;
            rap_ = static_cast<uint8_t>(value);
            break;
        case Port::kReset:
            ++counters_.reset_writes;  // only reading RESET resets the chip
            break;
        case Port::kBdp:
            ++counters_.bdp_writes;
            write_bcr(rap_, value);
            break;
    }
    return deferred;
}

std::optional<PcnetChip::Port> PcnetChip::decode_port(uint64_t offset, size_t width) const {
    if (dword_io_) {
        if (width != 4)
            return std::nullopt;
        switch (offset) {
            case dwio::kRdp:
                return Port::kRdp;
            case dwio::kRap:
                return Port::kRap;
            case dwio::kReset:
                return Port::kReset;
            case dwio::kBdp:
                return Port::kBdp;
            default:
                return std::nullopt;
        }
    }
    if (width != 2)
        return std::nullopt;
    switch (offset) {
        case wio::kRdp:
            return Port::kRdp;
        case wio::kRap:
            return Port::kRap;
        case wio::kReset:
            return Port::kReset;
        case wio::kBdp:
            return Port::kBdp;
        default:
            return std::nullopt;
    }
}

void PcnetChip::run(const Deferred& deferred) {
    if (deferred.transmit_demand && !events_.take_transmit_demand())
        process_transmit_ring();
    if (deferred.receive_resumed)
        events_.receive_resumed();
    if (deferred.layout_changed)
        events_.register_layout_changed();
}

// ---- CSRs ----

uint16_t PcnetChip::read_csr(unsigned index) {
    if (index >= kCsrCount)
        return 0;
    switch (static_cast<Csr>(index)) {
        case Csr::CSR24:
            return static_cast<uint16_t>(rx_ring_.base);
        case Csr::CSR25:
            return static_cast<uint16_t>(rx_ring_.base >> 16);
        case Csr::CSR28:
            return static_cast<uint16_t>(descriptor_address(rx_ring_, rx_ring_.index));
        case Csr::CSR29:
            return static_cast<uint16_t>(descriptor_address(rx_ring_, rx_ring_.index) >> 16);
        case Csr::CSR30:
            return static_cast<uint16_t>(tx_ring_.base);
        case Csr::CSR31:
            return static_cast<uint16_t>(tx_ring_.base >> 16);
        case Csr::CSR34:
            return static_cast<uint16_t>(descriptor_address(tx_ring_, tx_ring_.index));
        case Csr::CSR35:
            return static_cast<uint16_t>(descriptor_address(tx_ring_, tx_ring_.index) >> 16);
        case Csr::CSR58:
            return bcr_[20];
        case Csr::CSR72:  // counts down from the ring length to 1
            return static_cast<uint16_t>(rx_ring_.length - rx_ring_.index);
        case Csr::CSR74:
            return static_cast<uint16_t>(tx_ring_.length - tx_ring_.index);
        case Csr::CSR76:
            return static_cast<uint16_t>(-rx_ring_.length);
        case Csr::CSR78:
            return static_cast<uint16_t>(-tx_ring_.length);
        case Csr::CSR88:
            return kChipIdLow;
        case Csr::CSR89:
            return kChipIdHigh;
        default:
            return csr_[index];
    }
}

bool PcnetChip::stopped_or_suspended() const {
    return (csr_[0] & csr0::kStop) || (csr_[5] & csr5::kSpnd);
}

void PcnetChip::write_csr(unsigned index, uint16_t value, Deferred& deferred) {
    if (index >= kCsrCount) {
        ++counters_.bad_accesses;
        return;
    }
    // The datasheet lets software change addresses, filters and rings only while the chip is
    // stopped or suspended; elsewhere such writes are ignored, as the chip ignores them.
    const bool quiet = stopped_or_suspended();
    switch (static_cast<Csr>(index)) {
        case Csr::CSR0:
            write_csr0(value, deferred);
            return;
        case Csr::CSR1:
        case Csr::CSR2:
        case Csr::CSR8:
        case Csr::CSR9:
        case Csr::CSR10:
        case Csr::CSR11:
        case Csr::CSR12:
        case Csr::CSR13:
        case Csr::CSR14:
        case Csr::CSR15:
        case Csr::CSR112:
        case Csr::CSR114:
            if (quiet)
                csr_[index] = value;
            return;
        case Csr::CSR3:
            csr_[3] = value & csr3::kWritable;
            break;
        case Csr::CSR4: {
            uint16_t next = (csr_[4] & ~(value & csr4::kWriteOneToClear) & csr4::kWriteOneToClear) |
                            (value & ~csr4::kWriteOneToClear & ~csr4::kUintcmd);
            if (value & csr4::kUintcmd)
                next |= csr4::kUint;
            csr_[4] = next;
            break;
        }
        case Csr::CSR5: {
            const bool was_suspended = csr_[5] & csr5::kSpnd;
            csr_[5] = (csr_[5] & ~(value & csr5::kWriteOneToClear) & csr5::kWriteOneToClear) |
                      (value & ~csr5::kWriteOneToClear);
            if (was_suspended && !(csr_[5] & csr5::kSpnd)) {
                deferred.transmit_demand = true;  // resuming: look at the rings again
                note_receive_possible(deferred);
            }
            break;
        }
        case Csr::CSR24:
        case Csr::CSR25:
        case Csr::CSR30:
        case Csr::CSR31:
            if (quiet) {
                Ring& ring = (index < 30) ? rx_ring_ : tx_ring_;
                const bool high = (index == 25 || index == 31);
                ring.base = high ? (ring.base & 0xFFFF) | (uint32_t{value} << 16)
                                 : (ring.base & 0xFFFF'0000u) | value;
            }
            return;
        case Csr::CSR76:
        case Csr::CSR78:
            if (quiet) {
                Ring& ring = (index == 76) ? rx_ring_ : tx_ring_;
                ring.length = static_cast<uint16_t>(-value);
                ring.index = 0;
                if (ring.length == 0) {
                    g_empty_ring_warning("pcnet: guest set a descriptor ring length of 0");
                }
            }
            return;
        case Csr::CSR58:
            write_bcr(20, value);
            return;
        case Csr::CSR6:
        case Csr::CSR28:
        case Csr::CSR29:
        case Csr::CSR34:
        case Csr::CSR35:
        case Csr::CSR72:
        case Csr::CSR74:
        case Csr::CSR88:
        case Csr::CSR89:
            return;  // read-only here
        default:
            csr_[index] = value;
            return;
    }
    update_interrupt();
}

void PcnetChip::write_csr0(uint16_t value, Deferred& deferred) {
    if (value & csr0::kStop) {
        stop();  // STOP wins over everything else written with it
        return;
    }
    csr_[0] &= ~(value & csr0::kWriteOneToClear);
    csr_[0] = (csr_[0] & ~csr0::kIena) | (value & csr0::kIena);
    if (value & csr0::kInit)
        initialize();
    if (value & csr0::kStrt)
        start(deferred);
    if (value & csr0::kTdmd) {
        ++counters_.tdmd;
        if ((csr_[0] & csr0::kTxon) && !stopped_or_suspended()) {
            csr_[0] |= csr0::kTdmd;  // reads as set until the chip has looked at the ring
            // Even while a walk is deferred: the guest paid an exit for this one. A ring that
            // outran kWalkBudget gets only the wire's share per demand (budget_for).
            deferred.transmit_demand = true;
        }
    }
    update_interrupt();
    note_receive_possible(deferred);
}

void PcnetChip::stop() {
    // STOP clears every other CSR0 bit, interrupt flags and enable included.
    csr_[0] = csr0::kStop;
    csr_[5] &= ~csr5::kSpnd;
    transmit_deferred_ = false;  // the transmitter is off: nothing is pending any more
    transmit_outran_budget_ = false;
    update_interrupt();
}

void PcnetChip::start(Deferred& deferred) {
    csr_[0] &= ~csr0::kStop;
    csr_[0] |= csr0::kStrt;
    const uint16_t mode_bits = csr_[15];
    if (!(mode_bits & mode::kDtx))
        csr_[0] |= csr0::kTxon;
    if (!(mode_bits & mode::kDrx))
        csr_[0] |= csr0::kRxon;
    // The chip polls the transmit ring as soon as it starts.
    if (csr_[0] & csr0::kTxon)
        deferred.transmit_demand = true;
}

void PcnetChip::initialize() {
    const bool wide = is_32bit(style_);
    const uint64_t address = csr_[1] | (uint32_t{csr_[2]} << 16);
    std::array<uint8_t, kInitBlockSize32> raw{};
    const size_t size = wide ? kInitBlockSize32 : kInitBlockSize16;
    if (!dma_.read(address, std::span(raw.data(), size))) {
        memory_error();
        return;
    }
    const InitBlock block =
        wide ? parse_init_block32(raw) : parse_init_block16(raw, upper_address());
    csr_[15] = block.mode;
    for (unsigned i = 0; i < 3; ++i) csr_[12 + i] = block.padr[i];
    for (unsigned i = 0; i < 4; ++i) csr_[8 + i] = block.ladrf[i];
    csr_[6] = static_cast<uint16_t>((block.tlen << 12) | (block.rlen << 8));
    rx_ring_ = Ring{block.receive_ring, block.receive_ring_length, 0};
    tx_ring_ = Ring{block.transmit_ring, block.transmit_ring_length, 0};
    csr_[0] &= ~csr0::kStop;
    csr_[0] |= csr0::kInit | csr0::kIdon;
}

// ---- BCRs ----

uint16_t PcnetChip::read_bcr(unsigned index) {
    if (index >= kBcrCount)
        return 0;
    switch (static_cast<Bcr>(index)) {
        case Bcr::BCR4:
        case Bcr::BCR5:
        case Bcr::BCR6:
        case Bcr::BCR7: {
            // LEDOUT follows the enabled status signals; only link status is steady on a
            // virtual wire (activity would be a blink nobody can see).
            const uint16_t value = bcr_[index] & ~led::kLedout;
            const bool lit = (value & led::kLnkste) && link_up_;
            return lit ? (value | led::kLedout) : value;
        }
        case Bcr::BCR32:
            return bcr_[32] | bcr32::kMiipd;
        case Bcr::BCR34: {
            const uint16_t address = bcr_[33];
            return phy_.read((address >> 5) & 0x1F, address & 0x1F);
        }
        default:
            return bcr_[index];
    }
}

void PcnetChip::write_bcr(unsigned index, uint16_t value) {
    if (index >= kBcrCount) {
        ++counters_.bad_accesses;
        return;
    }
    switch (static_cast<Bcr>(index)) {
        case Bcr::BCR0:
        case Bcr::BCR1:
        case Bcr::BCR35:
            return;  // read-only
        case Bcr::BCR4:
        case Bcr::BCR5:
        case Bcr::BCR6:
        case Bcr::BCR7:
            bcr_[index] = value & ~led::kLedout;
            return;
        case Bcr::BCR20: {
            // Like the other structure settings, the style changes only while the chip is
            // stopped or suspended, so a running ring is never reinterpreted.
            if (!stopped_or_suspended())
                return;
            uint16_t swstyle = value & bcr20::kSwstyleMask;
            auto new_style = software_style_from_register(static_cast<uint8_t>(swstyle));
            if (!new_style) {
                // pcnet32 writes 4 on close "to switch back to 16-bit mode": reserved values
                // select the 16-bit layout.
                g_bad_style_warning("pcnet: reserved SWSTYLE {} taken as 0", swstyle);
                new_style = SoftwareStyle::kLance;
                swstyle = 0;
            }
            style_ = *new_style;
            // SSIZE32 follows the style; CSRPCNET stays set for the PCnet styles.
            bcr_[20] =
                static_cast<uint16_t>(swstyle | (value & bcr20::kAperren) | bcr20::kCsrpcnet |
                                      (is_32bit(style_) ? bcr20::kSsize32 : 0));
            return;
        }
        case Bcr::BCR32:
            bcr_[32] = value & ~bcr32::kMiipd;
            return;
        case Bcr::BCR34: {
            const uint16_t address = bcr_[33];
            phy_.write((address >> 5) & 0x1F, address & 0x1F, value);
            return;
        }
        default:
            bcr_[index] = value;
            return;
    }
}

// ---- Interrupts and errors ----

void PcnetChip::update_interrupt() {
    if (!(csr_[0] & csr0::kTint)) {
        // The driver acknowledged it (or a reset cleared it): nothing is held any more.
        tint_held_ = false;
    }
    const uint16_t c0 = csr_[0];
    const uint16_t c3 = csr_[3];
    const uint16_t c4 = csr_[4];
    const uint16_t c5 = csr_[5];
    bool intr = ((c0 & csr0::kBabl) && !(c3 & csr3::kBablm)) ||
                ((c0 & csr0::kMiss) && !(c3 & csr3::kMissm)) ||
                ((c0 & csr0::kMerr) && !(c3 & csr3::kMerrm)) ||
                ((c0 & csr0::kRint) && !(c3 & csr3::kRintm)) ||
                ((c0 & csr0::kTint) && !(c3 & csr3::kTintm) && !tint_held_) ||
                ((c0 & csr0::kIdon) && !(c3 & csr3::kIdonm));
    intr = intr || ((c4 & csr4::kMfco) && !(c4 & csr4::kMfcom)) ||
           ((c4 & csr4::kRcvcco) && !(c4 & csr4::kRcvccom)) || (c4 & csr4::kUint) ||
           ((c4 & csr4::kTxstrt) && !(c4 & csr4::kTxstrtm)) ||
           ((c4 & csr4::kJab) && !(c4 & csr4::kJabm));
    intr = intr || ((c5 & csr5::kSint) && (c5 & csr5::kSinte)) ||
           ((c5 & csr5::kSlpint) && (c5 & csr5::kSlpinte)) ||
           ((c5 & csr5::kExdint) && (c5 & csr5::kExdinte)) ||
           ((c5 & csr5::kMpint) && (c5 & csr5::kMpinte));
    const bool err = c0 & (csr0::kBabl | csr0::kCerr | csr0::kMiss | csr0::kMerr);
    csr_[0] = static_cast<uint16_t>((c0 & ~(csr0::kIntr | csr0::kErr)) | (intr ? csr0::kIntr : 0) |
                                    (err ? csr0::kErr : 0));
    const bool level = intr && (c0 & csr0::kIena);
    if (level != irq_level_) {
        irq_level_ = level;
        if (level)
            ++counters_.interrupts;
        irq_.set_level(level);
    }
}

void PcnetChip::memory_error() {
    csr_[0] |= csr0::kMerr;
    g_memory_error_warning("pcnet: bus master access outside guest RAM (MERR)");
    update_interrupt();
}

// ---- Rings ----

uint32_t PcnetChip::upper_address() const {
    return uint32_t{csr_[2] & 0xFF00u} << 16;
}

uint64_t PcnetChip::descriptor_address(const Ring& ring, uint32_t index) const {
    // Rings are aligned to their descriptor size; the chip ignores the low address bits.
    const uint64_t size = descriptor_size(style_);
    uint64_t base = ring.base & ~(size - 1);
    if (!is_32bit(style_))
        base = (base & 0x00FF'FFFF) | upper_address();
    return base + uint64_t{index} * size;
}

bool PcnetChip::read_descriptor(const Ring& ring, uint32_t index, std::span<uint8_t> raw) {
    return dma_.read(descriptor_address(ring, index), raw.first(descriptor_size(style_)));
}

// ---- Transmit ----

// The demand's share on a ring that outran its budget is one poll tick of the wire.
static_assert(PcnetChip::kPollWalkBudget.bytes ==
              PcnetChip::kPollTick.count() * PcnetChip::kWireBitsPerMicrosecond / 8);
static_assert(PcnetChip::kPollWalkBudget.frames ==
              PcnetChip::wire_budget(PcnetChip::kPollWalkBudget.bytes).frames);

size_t PcnetChip::process_transmit_ring() {
    return walk_transmit_ring(WalkOrigin::kDemand);
}

PcnetChip::WalkBudget PcnetChip::budget_for(WalkOrigin origin) const {
    if (origin == WalkOrigin::kDemand)
        return transmit_outran_budget_ ? kPollWalkBudget : kWalkBudget;
    // The poll's: the wire's credit (poll() refills it), at least one byte so that the walk
    // sends one frame; an overdraft is paid back by the following ticks.
    return wire_budget(static_cast<uint64_t>(std::max<int64_t>(wire_credit_, 1)));
}

size_t PcnetChip::walk_transmit_ring(WalkOrigin origin) {
    std::unique_lock lock(mutex_);
    if (transmitting_) {
        // Another thread is between frames with the lock dropped; it will look again.
        transmit_again_ = true;
        return 0;
    }
    transmitting_ = true;
    const bool started_by_poll = origin == WalkOrigin::kPoll;
    WalkBudget budget = budget_for(origin);
    bool wire_paced = started_by_poll || transmit_outran_budget_;
    size_t frames = 0;
    uint64_t bytes = 0;
    bool budget_spent = false;
    do {
        // A demand arriving during the walk (transmit_again_) looks again within the walk's
        // budget, raised to a demand's if the poll started it: what it finds beyond that
        // waits for the tick like the rest.
        if (transmit_again_ && budget.bytes < budget_for(WalkOrigin::kDemand).bytes) {
            budget = budget_for(WalkOrigin::kDemand);
            origin = WalkOrigin::kDemand;
            wire_paced = false;
        }
        transmit_again_ = false;
        uint32_t descriptors = tx_ring_.length;  // each descriptor at most once per walk
        while (!budget_spent) {
            const auto frame = next_transmit_frame(descriptors);
            if (!frame)
                break;
            ++frames;
            bytes += wire_bytes(frame->length);
            budget_spent = frames >= budget.frames || bytes >= budget.bytes;
            if (frame->to_backend) {
                NetBackend* backend = backend_;
                lock.unlock();
                backend->send(std::span<const uint8_t>(tx_frame_.data(), frame->length));
                lock.lock();
            } else {
                let_register_accesses_in(lock);
            }
        }
        // The walk's batch is out: its transmit-done interrupt shows now (interrupt per walk).
        if (tint_held_) {
            tint_held_ = false;
            update_interrupt();
        }
    } while (transmit_again_ && !budget_spent);
    transmitting_ = false;
    if (frames > 0 && wire_paced)
        ++counters_.tx_walks_wire_paced;
    if (started_by_poll)
        wire_credit_ -= static_cast<int64_t>(bytes);
    transmit_deferred_ = budget_spent && transmit_frame_waiting();
    if (transmit_deferred_) {
        // The demand (a TDMD, STRT's, or the poll's) is not done: TDMD reads as set until a
        // later walk finishes it.
        csr_[0] |= csr0::kTdmd;
        ++counters_.tx_walks_deferred;
        // A demand's full budget was not enough: from now on the ring is taken at wire rate.
        if (origin == WalkOrigin::kDemand)
            transmit_outran_budget_ = true;
    } else {
        csr_[0] &= ~csr0::kTdmd;
        transmit_outran_budget_ = false;  // the ring is done: demands get their budget again
    }
    if (frames > 0)
        ++counters_.tx_batches;
    return frames;
}

void PcnetChip::let_register_accesses_in(std::unique_lock<std::mutex>& lock) {
    if (register_waiters_.load(std::memory_order_relaxed) == 0)
        return;
    // transmitting_ keeps other walks out meanwhile; the next frame re-checks the chip's state.
    // A bounded wait: a vCPU hammering the registers delays the walk, not the reverse.
    lock.unlock();
    for (int i = 0; i < 64 && register_waiters_.load(std::memory_order_relaxed) != 0; ++i)
        std::this_thread::yield();
    lock.lock();
}

bool PcnetChip::transmit_frame_waiting() {
    if (!(csr_[0] & csr0::kTxon) || stopped_or_suspended() || tx_ring_.length == 0)
        return false;
    std::array<uint8_t, kMaxDescriptorSize> raw{};
    if (!read_descriptor(tx_ring_, tx_ring_.index, raw))
        return false;
    return decode_transmit(style_, raw, upper_address()).status & status::kOwn;
}

std::optional<PcnetChip::PendingFrame> PcnetChip::next_transmit_frame(uint32_t& budget) {
    if (!(csr_[0] & csr0::kTxon) || stopped_or_suspended() || tx_ring_.length == 0) {
        return std::nullopt;
    }
    const SoftwareStyle desc_style = style_;
    std::array<uint8_t, kMaxDescriptorSize> raw{};
    Descriptor first;
    // Skip (and hand back) owned descriptors that do not start a frame.
    for (;;) {
        if (budget == 0)
            return std::nullopt;
        if (!read_descriptor(tx_ring_, tx_ring_.index, raw)) {
            ++counters_.tx_dropped_dma_error;
            memory_error();
            return std::nullopt;
        }
        first = decode_transmit(desc_style, raw, upper_address());
        if (!(first.status & status::kOwn))
            return std::nullopt;
        if (first.status & status::kStp)
            break;
        --budget;
        ++counters_.tx_dropped_no_stp;
        g_tx_no_stp_warning("pcnet: transmit descriptor without STP skipped");
        write_transmit_result(dma_, desc_style, descriptor_address(tx_ring_, tx_ring_.index),
                              first.status & ~status::kOwn, std::nullopt);
        tx_ring_.index = (tx_ring_.index + 1) % tx_ring_.length;
    }

    csr_[4] |= csr4::kTxstrt;
    size_t length = 0;
    bool oversize = false;
    bool dma_failed = false;
    Descriptor current = first;
    for (;;) {
        --budget;
        const uint64_t current_address = descriptor_address(tx_ring_, tx_ring_.index);
        if (!oversize && !dma_failed) {
            if (length + current.buffer_size > kMaxFrameSize) {
                oversize = true;
            } else if (!dma_.read(current.buffer_address,
                                  std::span(tx_frame_.data() + length, current.buffer_size))) {
                dma_failed = true;
            } else {
                length += current.buffer_size;
            }
        }
        if (current.status & status::kEnp)
            break;

        // The frame goes on: the chip must own the next descriptor, and the ring must not
        // have wrapped back onto this frame's start.
        const uint32_t next_index = (tx_ring_.index + 1) % tx_ring_.length;
        Descriptor next;
        bool next_ok = budget > 0 && read_descriptor(tx_ring_, next_index, raw);
        if (next_ok) {
            next = decode_transmit(desc_style, raw, upper_address());
            next_ok = (next.status & status::kOwn) && !(next.status & status::kStp);
        }
        if (!next_ok) {
            // BUFF: the chain ended without ENP. The datasheet pairs it with UFLO, which
            // turns the transmitter off until the driver restarts it.
            ++counters_.tx_dropped_no_enp;
            g_tx_no_enp_warning("pcnet: transmit chain without ENP dropped (BUFF/UFLO)");
            write_transmit_result(dma_, desc_style, current_address,
                                  (current.status & ~status::kOwn) | status::kErr,
                                  tx_error::kBuff | tx_error::kUflo);
            tx_ring_.index = next_index;
            csr_[0] &= ~csr0::kTxon;
            csr_[0] |= csr0::kTint;
            update_interrupt();
            return std::nullopt;
        }
        write_transmit_result(dma_, desc_style, current_address, current.status & ~status::kOwn,
                              std::nullopt);
        tx_ring_.index = next_index;
        current = next;
    }

    const uint64_t enp_address = descriptor_address(tx_ring_, tx_ring_.index);
    tx_ring_.index = (tx_ring_.index + 1) % tx_ring_.length;

    PendingFrame frame;
    uint16_t errors = 0;
    const uint16_t mode_bits = csr_[15];
    const bool loopback = mode_bits & mode::kLoop;
    if (oversize) {
        ++counters_.tx_dropped_oversize;
        g_tx_oversize_warning("pcnet: transmit frame over {} bytes dropped", kMaxFrameSize);
    } else if (dma_failed) {
        ++counters_.tx_dropped_dma_error;
        memory_error();
    } else {
        if (length < kMinFrameSize && (csr_[4] & csr4::kApadXmt)) {
            std::fill(tx_frame_.begin() + length, tx_frame_.begin() + kMinFrameSize, 0);
            length = kMinFrameSize;
        }
        frame.length = length;
        // BABL: on the channel longer than a 1518-byte frame (with FCS) takes. The frame
        // still goes out; the flag only tells the driver.
        if (length + 4 > kBabbleThreshold)
            csr_[0] |= csr0::kBabl;
        const bool internal = (mode_bits & mode::kIntl) || (bcr_[32] & bcr32::kMiiilp);
        if (!loopback || !internal) {
            if (!link_up_ && !loopback) {
                errors |= tx_error::kLcar;
                ++counters_.tx_dropped_link_down;
            } else if (backend_ == nullptr) {
                ++counters_.tx_dropped_no_backend;
            } else {
                frame.to_backend = true;
            }
        }
        if (frame.to_backend || loopback) {
            ++counters_.tx_frames;
            counters_.tx_bytes += length;
        }
        if (loopback)
            loop_back(length, current.status);
    }

    // Hand the ENP descriptor back. No retries on a virtual wire: MORE/ONE/DEF read zero,
    // except that LTINT is the driver's own request when LTINTEN is set.
    uint16_t done = current.status & ~(status::kOwn | status::kErr | status::kOne | status::kDef);
    if (!(csr_[5] & csr5::kLtinten))
        done &= ~status::kLtint;
    if (errors)
        done |= status::kErr;
    write_transmit_result(dma_, desc_style, enp_address, done, errors);

    const bool wants_tint = errors || !(csr_[5] & csr5::kTokintd);
    const bool ltint_allows = !(csr_[5] & csr5::kLtinten) || (current.status & status::kLtint);
    if (wants_tint && (errors || ltint_allows)) {
        csr_[0] |= csr0::kTint;
        // Errors interrupt at once; a good frame's TINT waits for the end of this walk.
        tint_held_ = tint_per_walk_ && !errors;
    }
    update_interrupt();
    return frame;
}

void PcnetChip::loop_back(size_t length, uint16_t enp_status) {
    ++counters_.loopback_frames;
    // The transmitter appends the FCS unless DXMTFCS says not to (and ADD_FCS does not
    // override it); the receiver then sees it as the frame's last four bytes.
    const bool add_fcs = !(csr_[15] & mode::kDxmtfcs) || (enp_status & status::kAddFcs);
    size_t total = length;
    if (add_fcs) {
        const uint32_t fcs = ethernet_fcs(std::span(tx_frame_.data(), length));
        store_le(std::span(tx_frame_.data() + length, 4), fcs);  // tx_frame_ has 4 spare bytes
        total += 4;
    }
    // Two pieces, frame and FCS, so the receive side counts the frame's bytes alone.
    const std::array<std::span<const uint8_t>, 2> pieces{
        std::span<const uint8_t>(tx_frame_.data(), length),
        std::span<const uint8_t>(tx_frame_.data() + length, total - length)};
    const auto match_status = accept_frame(pieces[0], /*from_loopback=*/true);
    if (!match_status)
        return;
    store_received_frame(pieces, total, *match_status);
    update_interrupt();
}

// ---- Receive ----

bool PcnetChip::receiver_running(bool from_loopback) const {
    if (!(csr_[0] & csr0::kRxon) || stopped_or_suspended())
        return false;
    if (from_loopback)
        return true;
    // In internal loopback the receiver hears only its own transmitter.
    const bool internal_loopback =
        (csr_[15] & mode::kLoop) && ((csr_[15] & mode::kIntl) || (bcr_[32] & bcr32::kMiiilp));
    return link_up_ && !internal_loopback;
}

bool PcnetChip::current_receive_descriptor_owned() {
    if (rx_ring_.length == 0)
        return false;
    std::array<uint8_t, kMaxDescriptorSize> raw{};
    if (!read_descriptor(rx_ring_, rx_ring_.index, raw))
        return false;
    return decode_receive(style_, raw, upper_address()).status & status::kOwn;
}

bool PcnetChip::can_receive() {
    std::lock_guard lock(mutex_);
    const bool ready = receiver_running(false) && current_receive_descriptor_owned();
    if (!ready)
        receive_blocked_ = true;
    return ready;
}

void PcnetChip::note_receive_possible(Deferred& deferred) {
    if (receive_blocked_ && receiver_running(false) && current_receive_descriptor_owned()) {
        receive_blocked_ = false;
        deferred.receive_resumed = true;
    }
}

void PcnetChip::receive(std::span<const uint8_t> frame) {
    std::lock_guard lock(mutex_);
    if (frame.size() > kMaxFrameSize) {
        ++counters_.rx_dropped_oversize;
        g_rx_oversize_warning("pcnet: received frame of {} bytes dropped", frame.size());
        return;
    }
    // Decide before computing the FCS, so frames for other stations cost no CRC.
    const auto match_status = accept_frame(frame, /*from_loopback=*/false);
    if (!match_status)
        return;
    // Frames from the host carry no FCS and may be shorter than Ethernet's minimum (a TAP
    // hands over 42-byte ARP frames); the wire would have padded them, and drivers count a
    // frame under 64 bytes as a runt, so pad and append the FCS here.
    const size_t padding = frame.size() < kMinFrameSize ? kMinFrameSize - frame.size() : 0;
    uint32_t crc = crc32_update(kFcsSeed, frame);
    crc = crc32_update(crc, std::span(kZeroPadding.data(), padding));
    std::array<uint8_t, 4> fcs{};
    store_le(fcs, ~crc);
    const std::array<std::span<const uint8_t>, 3> pieces{
        frame, std::span<const uint8_t>(kZeroPadding.data(), padding),
        std::span<const uint8_t>(fcs)};
    store_received_frame(pieces, frame.size() + padding + fcs.size(), *match_status);
    update_interrupt();
}

std::optional<uint16_t> PcnetChip::accept_frame(std::span<const uint8_t> head, bool from_loopback) {
    if (!receiver_running(from_loopback)) {
        ++counters_.rx_dropped_not_running;
        return std::nullopt;
    }
    if (head.size() < 6) {
        ++counters_.rx_dropped_filtered;  // too short to carry a destination
        return std::nullopt;
    }
    AddressFilter filter;
    for (unsigned i = 0; i < 3; ++i) {
        filter.physical[2 * i] = static_cast<uint8_t>(csr_[12 + i]);
        filter.physical[2 * i + 1] = static_cast<uint8_t>(csr_[12 + i] >> 8);
    }
    for (unsigned i = 0; i < 4; ++i) filter.logical |= uint64_t{csr_[8 + i]} << (16 * i);
    filter.mode = csr_[15];
    uint16_t match_status = 0;
    switch (match_destination(filter, head.first<6>())) {
        case AddressMatch::kRejected:
            ++counters_.rx_dropped_filtered;
            return std::nullopt;
        case AddressMatch::kPhysical:
            match_status = status::kPam;
            break;
        case AddressMatch::kBroadcast:
            match_status = status::kBam;
            break;
        case AddressMatch::kLogical:
            match_status = status::kLafm;
            break;
        case AddressMatch::kPromiscuous:
            break;
    }
    if (rx_ring_.length == 0) {
        ++counters_.rx_dropped_bad_ring;
        return std::nullopt;
    }
    return match_status;
}

void PcnetChip::count_missed_frame() {
    ++counters_.rx_dropped_no_buffer;
    csr_[0] |= csr0::kMiss;
    if (++csr_[112] == 0)
        csr_[4] |= csr4::kMfco;
}

void PcnetChip::store_received_frame(std::span<const std::span<const uint8_t>> pieces, size_t total,
                                     uint16_t match_status) {
    const SoftwareStyle desc_style = style_;
    std::array<uint8_t, kMaxDescriptorSize> raw{};
    if (!read_descriptor(rx_ring_, rx_ring_.index, raw)) {
        ++counters_.rx_dropped_dma_error;
        memory_error();
        return;
    }
    Descriptor current = decode_receive(desc_style, raw, upper_address());
    if (!(current.status & status::kOwn)) {
        count_missed_frame();
        return;
    }

    size_t piece = 0;
    size_t piece_offset = 0;
    size_t written = 0;
    uint16_t start_flag = status::kStp;
    for (uint32_t used = 1;; ++used) {
        const uint64_t current_address = descriptor_address(rx_ring_, rx_ring_.index);
        // Copy the next buffer's worth, gathering from the pieces (frame, padding, FCS).
        const size_t chunk = std::min<size_t>(current.buffer_size, total - written);
        size_t copied = 0;
        while (copied < chunk) {
            const auto source = pieces[piece].subspan(piece_offset);
            const size_t n = std::min(source.size(), chunk - copied);
            if (n > 0 && !dma_.write(current.buffer_address + copied, source.first(n))) {
                ++counters_.rx_dropped_dma_error;
                memory_error();
                return;  // the descriptor stays with the chip; the frame is lost
            }
            copied += n;
            piece_offset += n;
            if (piece_offset == pieces[piece].size()) {
                ++piece;
                piece_offset = 0;
            }
        }
        written += chunk;

        if (written == total) {
            write_receive_result(dma_, desc_style, current_address,
                                 start_flag | status::kEnp | match_status,
                                 static_cast<uint16_t>(total));
            rx_ring_.index = (rx_ring_.index + 1) % rx_ring_.length;
            ++counters_.rx_frames;
            counters_.rx_bytes += pieces[0].size();
            csr_[0] |= csr0::kRint;
            return;
        }

        // More to store: the chip must own the next descriptor (and not wrap onto the start).
        const uint32_t next_index = (rx_ring_.index + 1) % rx_ring_.length;
        Descriptor next;
        bool next_ok = used < rx_ring_.length && read_descriptor(rx_ring_, next_index, raw);
        if (next_ok) {
            next = decode_receive(desc_style, raw, upper_address());
            next_ok = next.status & status::kOwn;
        }
        if (!next_ok) {
            // BUFF: the rest of the frame is lost; the descriptor reports the error.
            write_receive_result(dma_, desc_style, current_address,
                                 start_flag | status::kErr | status::kRxBuff, 0);
            rx_ring_.index = next_index;
            ++counters_.rx_dropped_buffer_error;
            csr_[0] |= csr0::kRint;
            return;
        }
        write_receive_result(dma_, desc_style, current_address, start_flag, 0);
        start_flag = 0;
        rx_ring_.index = next_index;
        current = next;
    }
}

// ---- Outside events ----

bool PcnetChip::poll(std::chrono::microseconds since_last) {
    Deferred deferred;
    bool busy = false;
    {
        std::lock_guard lock(mutex_);
        // Work only while the receiver hears the wire and waits for buffers, which the guest
        // hands back by memory writes the chip sees no other way. A receiver that does not hear
        // the wire (stopped, link down, internal loopback) comes back through a register write
        // or a link change; the poll still notes it at its slower period.
        busy = receive_blocked_ && receiver_running(false);
        note_receive_possible(deferred);
        if (tint_held_) {
            // Only a walk still in progress holds TINT; the device tick shows it regardless.
            busy = true;
            tint_held_ = false;
            update_interrupt();
        }
    }
    if (deferred.receive_resumed)
        events_.receive_resumed();
    bool poll_transmit = false;
    {
        std::lock_guard lock(mutex_);
        // A deferred walk's demand is still pending: DPOLL does not hold it back.
        poll_transmit = (!(csr_[4] & csr4::kDpoll) || transmit_deferred_) &&
                        (csr_[0] & csr0::kTxon) && !stopped_or_suspended();
        // The wire's time since the last poll; what is not used is not saved up beyond that.
        const int64_t tick = std::max<int64_t>(since_last.count(), 0) *
                             static_cast<int64_t>(kWireBitsPerMicrosecond) / 8;
        wire_credit_ = std::min(wire_credit_ + tick, tick);
        // Still paying back the last frame's time on the wire: this tick sends nothing.
        poll_transmit = poll_transmit && wire_credit_ > 0;
    }
    if (poll_transmit && walk_transmit_ring(WalkOrigin::kPoll) > 0) {
        // Frames that finished the ring were work a driver waits on; frames the wire held
        // back pace themselves, however often the VMM polls.
        std::lock_guard lock(mutex_);
        busy = busy || !transmit_deferred_;
    }
    return busy;
}

void PcnetChip::set_link_up(bool up) {
    Deferred deferred;
    {
        std::lock_guard lock(mutex_);
        link_up_ = up;
        phy_.set_link_up(up);
        if (up)
            note_receive_possible(deferred);
    }
    run(deferred);
}

PcnetCounters PcnetChip::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

}  // namespace hvmm
