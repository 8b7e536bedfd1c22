#include "devices/pci/msix_table.h"

#include <algorithm>
#include <cstdlib>

#include "base/log.h"

namespace hvmm::pci {
namespace {

// Bits 1:0 of the message address are reserved (dword-aligned messages): they read 0.
constexpr uint32_t kAddressLowMask = ~0x3u;
// Table Offset/BIR and PBA Offset/BIR: bits 2:0 the BAR index, the rest the offset.
constexpr uint32_t kBirMask = 0x7;

void put32(std::span<uint8_t> out, uint32_t value) {
    for (size_t i = 0; i < 4; ++i) {
        out[i] = static_cast<uint8_t>(value >> (8 * i));
    }
}

}  // namespace

MsixTable::MsixTable(uint16_t vector_count)
    : entries_(vector_count), pending_((vector_count + 63u) / 64u) {
    if (vector_count == 0 || vector_count > kMaxVectors) {
        log::error("MSI-X table of {} vectors (1-{} allowed)", vector_count, kMaxVectors);
        std::abort();
    }
}

std::array<uint8_t, MsixTable::kCapabilityBodySize> MsixTable::capability_body(
    uint8_t bar, uint32_t table_offset, uint32_t pba_offset) const {
    if (bar > 5 || (table_offset & kBirMask) != 0 || (pba_offset & kBirMask) != 0) {
        log::error("MSI-X table/PBA placement (BAR {}, {:#x}, {:#x}) is not 8-byte aligned", bar,
                   table_offset, pba_offset);
        std::abort();
    }
    std::array<uint8_t, kCapabilityBodySize> body{};
    const uint16_t control = static_cast<uint16_t>(vector_count() - 1);
    body[0] = static_cast<uint8_t>(control);
    body[1] = static_cast<uint8_t>(control >> 8);
    put32(std::span(body).subspan(2, 4), table_offset | bar);
    put32(std::span(body).subspan(6, 4), pba_offset | bar);
    return body;
}

std::array<uint8_t, MsixTable::kCapabilityBodySize> MsixTable::capability_writable() {
    std::array<uint8_t, kCapabilityBodySize> mask{};
    mask[1] = static_cast<uint8_t>((kControlEnable | kControlFunctionMask) >> 8);
    return mask;
}

uint32_t MsixTable::entry_dword(const Entry& entry, uint32_t index) {
    switch (index) {
        case 0:
            return entry.address_low;
        case 1:
            return entry.address_high;
        case 2:
            return entry.data;
        default:
            return entry.vector_control;
    }
}

void MsixTable::read_table(uint64_t offset, std::span<uint8_t> data) const {
    for (size_t i = 0; i < data.size(); ++i) {
        const uint64_t at = offset + i;
        if (at >= table_bytes()) {
            data[i] = 0;
            continue;
        }
        const Entry& entry = entries_[at / kEntrySize];
        const uint32_t dword = entry_dword(entry, (at % kEntrySize) / 4);
        data[i] = static_cast<uint8_t>(dword >> (8 * (at % 4)));
    }
}

bool MsixTable::write_table(uint64_t offset, std::span<const uint8_t> data) {
    bool changed = false;
    for (size_t i = 0; i < data.size(); ++i) {
        const uint64_t at = offset + i;
        if (at >= table_bytes()) {
            break;
        }
        Entry& entry = entries_[at / kEntrySize];
        const uint32_t shift = 8 * (at % 4);
        const uint32_t byte_mask = 0xFFu << shift;
        const uint32_t value = uint32_t{data[i]} << shift;
        uint32_t* field = nullptr;
        uint32_t writable = 0xFFFF'FFFF;
        switch ((at % kEntrySize) / 4) {
            case 0:
                field = &entry.address_low;
                writable = kAddressLowMask;
                break;
            case 1:
                field = &entry.address_high;
                break;
            case 2:
                field = &entry.data;
                break;
            default:
                // Only the mask bit; the rest of Vector Control is reserved and reads 0.
                field = &entry.vector_control;
                writable = kVectorControlMasked;
                break;
        }
        const uint32_t updated = (*field & ~(byte_mask & writable)) | (value & writable);
        changed |= updated != *field;
        *field = updated;
    }
    return changed;
}

void MsixTable::read_pba(uint64_t offset, std::span<uint8_t> data) const {
    for (size_t i = 0; i < data.size(); ++i) {
        const uint64_t at = offset + i;
        data[i] = at < pba_bytes() ? static_cast<uint8_t>(pending_[at / 8] >> (8 * (at % 8))) : 0;
    }
}

void MsixTable::set_control(uint16_t message_control) {
    enabled_ = (message_control & kControlEnable) != 0;
    function_masked_ = (message_control & kControlFunctionMask) != 0;
}

bool MsixTable::masked(uint16_t vector) const {
    if (vector >= vector_count()) {
        return true;
    }
    return function_masked_ || (entries_[vector].vector_control & kVectorControlMasked) != 0;
}

MsiMessage MsixTable::message(uint16_t vector) const {
    if (vector >= vector_count()) {
        return {};
    }
    const Entry& entry = entries_[vector];
    return MsiMessage{.address = (uint64_t{entry.address_high} << 32) | entry.address_low,
                      .data = entry.data};
}

bool MsixTable::pending(uint16_t vector) const {
    return vector < vector_count() && (pending_[vector / 64] >> (vector % 64) & 1) != 0;
}

void MsixTable::set_pending(uint16_t vector, bool pending) {
    if (vector >= vector_count()) {
        return;
    }
    const uint64_t bit = uint64_t{1} << (vector % 64);
    pending_[vector / 64] =
        pending ? (pending_[vector / 64] | bit) : (pending_[vector / 64] & ~bit);
}

void MsixTable::reset() {
    std::fill(entries_.begin(), entries_.end(), Entry{});
    std::fill(pending_.begin(), pending_.end(), 0);
    enabled_ = false;
    function_masked_ = false;
}

}  // namespace hvmm::pci
