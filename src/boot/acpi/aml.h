// A small encoder for the ACPI Machine Language that hvmm's DSDT needs: named objects holding
// data (integers, strings, packages, buffers), devices and scopes, EISA ids and resource
// templates. Byte forms follow the ACPI 6 specification, chapter 20 (AML) and section 6.4
// (resource data types). Names and ids are hvmm's own constants, so a malformed one is a bug in
// hvmm and aborts loudly rather than producing a table the guest would misparse.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

namespace hvmm::boot::acpi::aml {

using Bytes = std::vector<uint8_t>;

// Opcodes and prefixes (ACPI 6, 20.3).
constexpr uint8_t kZeroOp = 0x00;
constexpr uint8_t kOneOp = 0x01;
constexpr uint8_t kNameOp = 0x08;
constexpr uint8_t kBytePrefix = 0x0A;
constexpr uint8_t kWordPrefix = 0x0B;
constexpr uint8_t kDWordPrefix = 0x0C;
constexpr uint8_t kStringPrefix = 0x0D;
constexpr uint8_t kQWordPrefix = 0x0E;
constexpr uint8_t kScopeOp = 0x10;
constexpr uint8_t kBufferOp = 0x11;
constexpr uint8_t kPackageOp = 0x12;
constexpr uint8_t kDualNamePrefix = 0x2E;
constexpr uint8_t kMultiNamePrefix = 0x2F;
constexpr uint8_t kExtOpPrefix = 0x5B;
constexpr uint8_t kRootChar = 0x5C;    // '\'
constexpr uint8_t kParentChar = 0x5E;  // '^'
constexpr uint8_t kDeviceOp = 0x82;    // after kExtOpPrefix

// Concatenates encodings.
Bytes join(std::initializer_list<std::span<const uint8_t>> parts);

// The PkgLength for a package whose contents after the PkgLength are content_length bytes long:
// the encoded length counts the PkgLength bytes themselves (1 to 4 of them).
Bytes pkg_length(size_t content_length);

// The smallest encoding: ZeroOp, OneOp, or a Byte/Word/DWord/QWord prefix.
Bytes integer(uint64_t value);
// A DWordConst whatever the value, for fields read as 32-bit such as an EISA id.
Bytes dword(uint32_t value);
Bytes string(std::string_view text);

// "_HID", "\\_SB_.PCI0", "^PCI0": segments of 1 to 4 characters are padded with '_'.
Bytes name_string(std::string_view path);

// Name (name, object).
Bytes name(std::string_view name, std::span<const uint8_t> object);
// Package (N) {elements}; at most 255 elements (a PackageOp's NumElements is one byte).
Bytes package(std::initializer_list<std::span<const uint8_t>> elements);
Bytes package(const std::vector<Bytes>& elements);
// Buffer () {data}.
Bytes buffer(std::span<const uint8_t> data);
Bytes scope(std::string_view name, std::span<const uint8_t> terms);
Bytes device(std::string_view name, std::span<const uint8_t> terms);

// The 32-bit compressed EISA id of "PNP0A03": three letters of 5 bits and four hex digits,
// stored big-endian as the ASL EisaId() macro does.
uint32_t eisa_id_value(std::string_view id);
Bytes eisa_id(std::string_view id);

// Resource descriptors (ACPI 6, 6.4).
namespace resource {
// IO (Decode16, min, max, alignment, length).
Bytes io(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length);
// IRQNoFlags () {irqs}: edge-triggered, active-high ISA interrupts.
Bytes irq_no_flags(std::initializer_list<uint8_t> irqs);
// WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, max - min + 1).
Bytes word_bus_number(uint16_t min, uint16_t max);
// WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, len).
Bytes word_io(uint16_t min, uint16_t max);
// DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0, min,
// max, 0, len).
Bytes dword_memory(uint32_t min, uint32_t max);
// End Tag with the checksum that makes all the template's bytes sum to zero.
Bytes end_tag(std::span<const uint8_t> descriptors_before);
}  // namespace resource

// ResourceTemplate () {descriptors}: a Buffer of the descriptors and their End Tag.
Bytes resource_template(std::initializer_list<std::span<const uint8_t>> descriptors);

}  // namespace hvmm::boot::acpi::aml
