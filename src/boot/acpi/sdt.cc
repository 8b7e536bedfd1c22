#include "boot/acpi/sdt.h"

#include <algorithm>
#include <cstring>

namespace hvmm::boot::acpi {
namespace {

void copy_padded(char* out, size_t size, std::string_view text) {
    std::memset(out, ' ', size);
    std::memcpy(out, text.data(), std::min(size, text.size()));
}

}  // namespace

uint8_t byte_sum(std::span<const uint8_t> bytes) {
    uint8_t sum = 0;
    for (const uint8_t byte : bytes) {
        sum = static_cast<uint8_t>(sum + byte);
    }
    return sum;
}

uint8_t checksum_of(std::span<const uint8_t> bytes) {
    return static_cast<uint8_t>(0x100 - byte_sum(bytes));
}

std::vector<uint8_t> make_table(std::string_view signature, uint8_t revision,
                                std::span<const uint8_t> body) {
    TableHeader header{};
    copy_padded(header.signature, sizeof(header.signature), signature);
    header.length = static_cast<uint32_t>(sizeof(TableHeader) + body.size());
    header.revision = revision;
    copy_padded(header.oem_id, sizeof(header.oem_id), "HVMM");
    // The OEM table id names the table, as firmware usually does: "HVMMFACP", "HVMMAPIC".
    copy_padded(header.oem_table_id, sizeof(header.oem_table_id), "HVMM");
    std::memcpy(header.oem_table_id + 4, signature.data(), std::min<size_t>(4, signature.size()));
    header.oem_revision = 1;
    copy_padded(header.creator_id, sizeof(header.creator_id), "HVMM");
    header.creator_revision = 1;

    std::vector<uint8_t> table;
    append_obj(table, header);
    table.insert(table.end(), body.begin(), body.end());
    table[offsetof(TableHeader, checksum)] = checksum_of(table);
    return table;
}

}  // namespace hvmm::boot::acpi
