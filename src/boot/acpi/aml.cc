#include "boot/acpi/aml.h"

#include <cstdlib>

#include "base/log.h"

namespace hvmm::boot::acpi::aml {
namespace {

// The resource data item tags (ACPI 6, 6.4.2 and 6.4.3).
constexpr uint8_t kIrqNoFlagsTag = 0x22;  // small item 0x4, length 2
constexpr uint8_t kIoTag = 0x47;          // small item 0x8, length 7
constexpr uint8_t kEndTag = 0x79;         // small item 0xF, length 1
constexpr uint8_t kDWordAddressTag = 0x87;
constexpr uint8_t kWordAddressTag = 0x88;

constexpr uint8_t kResourceTypeMemory = 0;
constexpr uint8_t kResourceTypeIo = 1;
constexpr uint8_t kResourceTypeBusNumber = 2;
// General flags: _MAF and _MIF set (fixed window), _DEC positive, a producer (bit 0 clear).
constexpr uint8_t kFixedWindowProducer = 0x0C;
constexpr uint8_t kIoEntireRange = 0x03;
constexpr uint8_t kMemoryReadWriteNonCacheable = 0x01;

[[noreturn]] void bad_aml(std::string_view what, std::string_view value) {
    log::error("internal error: invalid AML {} '{}'", what, value);
    std::abort();
}

void append_le(Bytes& out, uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) {
        out.push_back(static_cast<uint8_t>(value >> (8 * i)));
    }
}

bool is_lead_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
    return is_lead_name_char(c) || (c >= '0' && c <= '9');
}

void append_name_seg(Bytes& out, std::string_view segment, std::string_view path) {
    if (segment.empty() || segment.size() > 4 || !is_lead_name_char(segment[0])) {
        bad_aml("name", path);
    }
    for (size_t i = 0; i < 4; ++i) {
        const char c = i < segment.size() ? segment[i] : '_';
        if (!is_name_char(c)) {
            bad_aml("name", path);
        }
        out.push_back(static_cast<uint8_t>(c));
    }
}

// opcode(s) PkgLength body, the shape of every variable-length AML term.
Bytes with_pkg_length(std::initializer_list<uint8_t> opcodes, std::span<const uint8_t> body) {
    Bytes out(opcodes);
    const Bytes length = pkg_length(body.size());
    out.insert(out.end(), length.begin(), length.end());
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

}  // namespace

Bytes join(std::initializer_list<std::span<const uint8_t>> parts) {
    Bytes out;
    for (const auto& part : parts) {
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}

Bytes pkg_length(size_t content_length) {
    // One byte holds lengths below 0x40 in its low six bits; with n following bytes the lead
    // byte keeps only four bits (n in bits 6-7) and each following byte adds eight more.
    if (content_length + 1 < 0x40) {
        return {static_cast<uint8_t>(content_length + 1)};
    }
    for (size_t extra = 1; extra <= 3; ++extra) {
        const size_t total = content_length + 1 + extra;
        if (total < (size_t{1} << (4 + 8 * extra))) {
            Bytes out{static_cast<uint8_t>((extra << 6) | (total & 0x0F))};
            append_le(out, total >> 4, static_cast<int>(extra));
            return out;
        }
    }
    bad_aml("package length", std::to_string(content_length));
}

Bytes integer(uint64_t value) {
    if (value == 0)
        return {kZeroOp};
    if (value == 1)
        return {kOneOp};
    Bytes out;
    if (value <= 0xFF) {
        out.push_back(kBytePrefix);
        append_le(out, value, 1);
    } else if (value <= 0xFFFF) {
        out.push_back(kWordPrefix);
        append_le(out, value, 2);
    } else if (value <= 0xFFFF'FFFF) {
        out.push_back(kDWordPrefix);
        append_le(out, value, 4);
    } else {
        out.push_back(kQWordPrefix);
        append_le(out, value, 8);
    }
    return out;
}

Bytes dword(uint32_t value) {
    Bytes out{kDWordPrefix};
    append_le(out, value, 4);
    return out;
}

Bytes string(std::string_view text) {
    Bytes out{kStringPrefix};
    for (const char c : text) {
        if (c == '\0' || static_cast<unsigned char>(c) > 0x7F) {
            bad_aml("string", text);
        }
        out.push_back(static_cast<uint8_t>(c));
    }
    out.push_back(0);
    return out;
}

Bytes name_string(std::string_view path) {
    Bytes out;
    std::string_view rest = path;
    if (!rest.empty() && rest.front() == '\\') {
        out.push_back(kRootChar);
        rest.remove_prefix(1);
    } else {
        while (!rest.empty() && rest.front() == '^') {
            out.push_back(kParentChar);
            rest.remove_prefix(1);
        }
    }
    std::vector<std::string_view> segments;
    while (!rest.empty()) {
        const size_t dot = rest.find('.');
        segments.push_back(rest.substr(0, dot));
        rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
    }
    if (segments.empty() || segments.size() > 255) {
        bad_aml("name", path);
    }
    if (segments.size() == 2) {
        out.push_back(kDualNamePrefix);
    } else if (segments.size() > 2) {
        out.push_back(kMultiNamePrefix);
        out.push_back(static_cast<uint8_t>(segments.size()));
    }
    for (const auto segment : segments) {
        append_name_seg(out, segment, path);
    }
    return out;
}

Bytes name(std::string_view name, std::span<const uint8_t> object) {
    return join({Bytes{kNameOp}, name_string(name), object});
}

Bytes package(const std::vector<Bytes>& elements) {
    if (elements.size() > 0xFF) {
        bad_aml("package size", std::to_string(elements.size()));
    }
    Bytes body{static_cast<uint8_t>(elements.size())};
    for (const auto& element : elements) {
        body.insert(body.end(), element.begin(), element.end());
    }
    return with_pkg_length({kPackageOp}, body);
}

Bytes package(std::initializer_list<std::span<const uint8_t>> elements) {
    std::vector<Bytes> copies;
    for (const auto& element : elements) {
        copies.emplace_back(element.begin(), element.end());
    }
    return package(copies);
}

Bytes buffer(std::span<const uint8_t> data) {
    return with_pkg_length({kBufferOp}, join({integer(data.size()), data}));
}

Bytes scope(std::string_view name, std::span<const uint8_t> terms) {
    return with_pkg_length({kScopeOp}, join({name_string(name), terms}));
}

Bytes device(std::string_view name, std::span<const uint8_t> terms) {
    return with_pkg_length({kExtOpPrefix, kDeviceOp}, join({name_string(name), terms}));
}

uint32_t eisa_id_value(std::string_view id) {
    auto hex = [&](char c) -> uint32_t {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        bad_aml("EISA id", id);
    };
    if (id.size() != 7) {
        bad_aml("EISA id", id);
    }
    uint32_t big_endian = 0;
    for (int i = 0; i < 3; ++i) {
        if (id[i] < 'A' || id[i] > 'Z') {
            bad_aml("EISA id", id);
        }
        big_endian = (big_endian << 5) | static_cast<uint32_t>(id[i] - 0x40);
    }
    for (int i = 3; i < 7; ++i) {
        big_endian = (big_endian << 4) | hex(id[i]);
    }
    return __builtin_bswap32(big_endian);
}

Bytes eisa_id(std::string_view id) {
    return dword(eisa_id_value(id));
}

namespace resource {

Bytes io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length) {
    constexpr uint8_t kDecode16 = 0x01;
    Bytes out{kIoTag, kDecode16};
    append_le(out, min, 2);
    append_le(out, max, 2);
    out.push_back(alignment);
    out.push_back(length);
    return out;
}

Bytes irq_no_flags(std::initializer_list<uint8_t> irqs) {
    uint16_t mask = 0;
    for (const uint8_t irq : irqs) {
        if (irq > 15) {
            bad_aml("ISA IRQ", std::to_string(irq));
        }
        mask = static_cast<uint16_t>(mask | (1u << irq));
    }
    Bytes out{kIrqNoFlagsTag};
    append_le(out, mask, 2);
    return out;
}

Bytes word_bus_number(uint16_t min, uint16_t max) {
    Bytes out{kWordAddressTag};
    append_le(out, 13, 2);  // bytes after the length field
    out.insert(out.end(), {kResourceTypeBusNumber, kFixedWindowProducer, 0});
    for (const uint32_t field : {0u, uint32_t{min}, uint32_t{max}, 0u, uint32_t{max} - min + 1}) {
        append_le(out, field, 2);
    }
    return out;
}

Bytes word_io(uint16_t min, uint16_t max) {
    Bytes out{kWordAddressTag};
    append_le(out, 13, 2);
    out.insert(out.end(), {kResourceTypeIo, kFixedWindowProducer, kIoEntireRange});
    for (const uint32_t field : {0u, uint32_t{min}, uint32_t{max}, 0u, uint32_t{max} - min + 1}) {
        append_le(out, field, 2);
    }
    return out;
}

Bytes dword_memory(uint32_t min, uint32_t max) {
    Bytes out{kDWordAddressTag};
    append_le(out, 23, 2);
    out.insert(out.end(),
               {kResourceTypeMemory, kFixedWindowProducer, kMemoryReadWriteNonCacheable});
    for (const uint64_t field :
         std::initializer_list<uint64_t>{0, min, max, 0, uint64_t{max} - min + 1}) {
        append_le(out, field, 4);
    }
    return out;
}

Bytes end_tag(std::span<const uint8_t> descriptors_before) {
    uint8_t sum = kEndTag;
    for (const uint8_t byte : descriptors_before) {
        sum = static_cast<uint8_t>(sum + byte);
    }
    return {kEndTag, static_cast<uint8_t>(-sum)};
}

}  // namespace resource

Bytes resource_template(std::initializer_list<std::span<const uint8_t>> descriptors) {
    Bytes body = join(descriptors);
    const Bytes end = resource::end_tag(body);
    body.insert(body.end(), end.begin(), end.end());
    return buffer(body);
}

}  // namespace hvmm::boot::acpi::aml
