// What every ACPI system description table shares: the 36-byte header, the checksum that makes a
// table's bytes sum to zero, and the Generic Address Structure (ACPI 6, 5.2.3 and 5.2.6).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace hvmm::boot::acpi {

#pragma pack(push, 1)

struct TableHeader {
    char signature[4];
    uint32_t length;  // of the whole table, header included
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    char creator_id[4];
    uint32_t creator_revision;
};
static_assert(sizeof(TableHeader) == 36);

struct GenericAddress {
    uint8_t address_space_id;
    uint8_t register_bit_width;
    uint8_t register_bit_offset;
    uint8_t access_size;  // 1 = byte access
    uint64_t address;
};
static_assert(sizeof(GenericAddress) == 12);

#pragma pack(pop)

constexpr uint8_t kAddressSpaceSystemIo = 1;
constexpr uint8_t kAccessSizeByte = 1;

// An 8-bit register at an I/O port.
constexpr GenericAddress io_port_register(uint16_t port) {
    return GenericAddress{kAddressSpaceSystemIo, 8, 0, kAccessSizeByte, port};
}

// The byte that, added to all of bytes, makes their sum 0 modulo 256.
uint8_t checksum_of(std::span<const uint8_t> bytes);
// Sum of bytes modulo 256: zero for a table with a correct checksum.
uint8_t byte_sum(std::span<const uint8_t> bytes);

// signature (4 characters) + hvmm's OEM fields + body, with length and checksum filled in.
std::vector<uint8_t> make_table(std::string_view signature, uint8_t revision,
                                std::span<const uint8_t> body);

// Appends the raw bytes of a plain-data value.
template <class T>
void append_obj(std::vector<uint8_t>& out, const T& value) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
    out.insert(out.end(), bytes, bytes + sizeof(T));
}

}  // namespace hvmm::boot::acpi
