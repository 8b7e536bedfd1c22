// Fuzz target for PCI configuration space as a guest reaches it: a type-0 header with BARs and a
// capability list (an MSI-X capability among vendor-specific ones) chosen by the input, then a
// script of configuration reads and writes of every width, MSI-X table and PBA accesses, Message
// Control updates and pending bits. Nothing may crash, and: the read-only identity never changes;
// each BAR change a write reports is exactly the difference in where BARs decode; a BAR never
// decodes at base 0 or past its address space; the capability chain still leads to MSI-X; an
// MSI-X vector's message is what the guest wrote into its entry (less the reserved bits).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include "base/log.h"
#include "devices/pci/capability_list.h"
#include "devices/pci/config_space.h"
#include "devices/pci/msix_table.h"
#include "fuzz_input.h"

namespace {

using namespace hvmm::pci;

using hvmm::fuzz::check;

constexpr uint16_t kVendor = 0x1022;
constexpr uint16_t kDevice = 0x2000;

std::array<std::optional<uint64_t>, kBarCount> decoded(const ConfigSpace& config) {
    std::array<std::optional<uint64_t>, kBarCount> bases;
    for (int i = 0; i < kBarCount; ++i) bases[i] = config.decoded_base(i);
    return bases;
}

void check_decoding(const ConfigSpace& config) {
    for (int i = 0; i < kBarCount; ++i) {
        const auto base = config.decoded_base(i);
        if (!base)
            continue;
        const BarSpec& spec = *config.bar_spec(i);
        check(*base != 0, "a BAR decodes at 0");
        check(*base % spec.size == 0, "a BAR decodes at an unaligned base");
        const uint64_t end = spec.kind == BarKind::kIo ? 0x10000
                             : spec.is_64bit           ? uint64_t{1} << 52
                                                       : uint64_t{1} << 32;
        check(*base < end && *base + spec.size <= end, "a BAR decodes past its address space");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    hvmm::fuzz::quiet_logs();
    hvmm::fuzz::FuzzInput in(data, size);

    FunctionIdentity identity{.vendor_id = kVendor, .device_id = kDevice, .interrupt_pin = 1};
    identity.implemented_command_bits = in.word();
    ConfigSpace config(identity);
    const uint8_t bar_count = in.byte() % (kBarCount + 1);
    for (uint8_t i = 0; i < bar_count; ++i) {
        const uint8_t shape = in.byte();
        const BarSpec spec{.kind = (shape & 1) ? BarKind::kMmio : BarKind::kIo,
                           .size = uint32_t{1} << (in.byte() % 32),
                           .prefetchable = (shape & 2) != 0,
                           .is_64bit = (shape & 4) != 0};
        (void)config.define_bar((shape >> 3) % kBarCount, spec);  // refusals are fine
    }

    // MSI-X after up to three vendor-specific capabilities of input-chosen sizes.
    CapabilityList capabilities(config);
    const uint8_t vendor_capabilities = in.byte() % 4;
    for (uint8_t i = 0; i < vendor_capabilities; ++i) {
        const auto body = in.bytes(in.byte() % 64);
        (void)capabilities.add(CapabilityId::kVendorSpecific, body);
    }
    const uint16_t vectors = 1 + in.word() % MsixTable::kMaxVectors;
    MsixTable table(vectors);
    const uint32_t table_offset = 0;
    const uint32_t pba_offset = (table.table_bytes() + 7u) & ~7u;
    const auto msix =
        capabilities.add(CapabilityId::kMsix, table.capability_body(0, table_offset, pba_offset),
                         MsixTable::capability_writable());
    if (msix) {
        check(find_capability(config, CapabilityId::kMsix) == *msix, "MSI-X not found in chain");
    }

    auto known = decoded(config);
    for (int step = 0; step < 2048 && !in.empty(); ++step) {
        const uint8_t op = in.byte();
        const size_t width = size_t{1} << ((op >> 4) % 3);  // 1, 2 or 4
        switch (op % 6) {
            case 0: {
                // Mostly the header, where the BARs and the command register are.
                const uint8_t offset = (op & 0x80) ? in.byte() : in.byte() % 0x40;
                const auto bytes = in.bytes(width);
                const auto changes = config.write(offset, bytes);
                const auto now = decoded(config);
                std::array<bool, kBarCount> reported{};
                for (const BarChange& change : changes) {
                    check(change.bar < kBarCount && !reported[change.bar], "BAR reported twice");
                    reported[change.bar] = true;
                    check(change.old_base == known[change.bar], "a change's old base is wrong");
                    check(change.new_base == now[change.bar], "a change's new base is wrong");
                }
                for (int i = 0; i < kBarCount; ++i) {
                    check(reported[i] || known[i] == now[i], "a BAR moved unreported");
                }
                known = now;
                if (msix) {
                    table.set_control(config.read16(*msix + MsixTable::kControlOffset));
                }
                check(config.read16(0) == kVendor && config.read16(2) == kDevice,
                      "the identity changed");
                check_decoding(config);
                break;
            }
            case 1: {
                std::array<uint8_t, 4> bytes{};
                config.read(in.byte(), std::span(bytes).first(width));
                break;
            }
            case 2: {
                const uint64_t offset = in.word() % (table.table_bytes() + 32);
                const size_t table_width = size_t{1} << ((op >> 4) % 4);
                (void)table.write_table(offset, in.bytes(table_width));
                std::array<uint8_t, 8> back{};
                table.read_table(offset, std::span(back).first(table_width));
                break;
            }
            case 3: {
                // A whole entry the way a driver writes it, then the message read back.
                const uint16_t vector = in.word() % (vectors + 2);
                const uint32_t address_low = in.dword(), address_high = in.dword(),
                               message_data = in.dword();
                const uint32_t control = in.byte() & 1;
                std::array<uint8_t, MsixTable::kEntrySize> entry{};
                for (int i = 0; i < 4; ++i) {
                    entry[i] = uint8_t(address_low >> (8 * i));
                    entry[4 + i] = uint8_t(address_high >> (8 * i));
                    entry[8 + i] = uint8_t(message_data >> (8 * i));
                    entry[12 + i] = uint8_t(control >> (8 * i));
                }
                (void)table.write_table(uint64_t{vector} * MsixTable::kEntrySize, entry);
                if (vector < vectors) {
                    const auto message = table.message(vector);
                    // The address's low two bits are reserved (dword-aligned messages): read 0.
                    check(message.address == (uint64_t{address_high} << 32 | (address_low & ~3u)) &&
                              message.data == message_data,
                          "an entry's message differs from what was written");
                    check(table.masked(vector) == (control != 0 || table.function_masked()),
                          "an entry's mask differs from what was written");
                } else {
                    check(table.masked(vector), "a vector past the table is not masked");
                }
                break;
            }
            case 4: {
                const uint16_t vector = in.word() % (vectors + 2);
                const bool pending = in.byte() & 1;
                table.set_pending(vector, pending);
                check(table.pending(vector) == (pending && vector < vectors), "pending bit lost");
                std::array<uint8_t, 8> pba{};
                table.read_pba(in.word() % (table.pba_bytes() + 16), std::span(pba).first(width));
                break;
            }
            case 5:
                if (op & 0x80) {
                    table.reset();
                } else {
                    (void)find_capability(config, static_cast<CapabilityId>(in.byte()), in.byte());
                }
                break;
        }
    }
    return 0;
}
