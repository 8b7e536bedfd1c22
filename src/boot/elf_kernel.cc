#include "boot/elf_kernel.h"

#include <elf.h>

#include <cstring>

#include "base/checked.h"

namespace hvmm::boot {

Result<ElfKernel> parse_elf_kernel(std::span<const uint8_t> file, std::string_view name) {
    Elf64_Ehdr header{};
    if (file.size() < sizeof(header)) {
        return fail("{}: the decompressed kernel is too short for an ELF header", name);
    }
    std::memcpy(&header, file.data(), sizeof(header));
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
        header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB ||
        header.e_machine != EM_X86_64) {
        return fail("{}: the decompressed kernel is not an x86-64 ELF file", name);
    }
    if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0) {
        return fail("{}: the decompressed kernel has no usable program headers", name);
    }
    const auto table_end = checked_add(header.e_phoff, uint64_t{header.e_phnum} * sizeof(Elf64_Phdr));
    if (!table_end || *table_end > file.size()) {
        return fail("{}: the decompressed kernel's program headers run past its end", name);
    }
    ElfKernel kernel{header.e_entry, {}};
    bool entry_loaded = false;
    for (uint16_t i = 0; i < header.e_phnum; ++i) {
        Elf64_Phdr segment{};
        std::memcpy(&segment, file.data() + header.e_phoff + i * sizeof(Elf64_Phdr),
                    sizeof(segment));
        if (segment.p_type != PT_LOAD) {
            continue;
        }
        const auto file_end = checked_add(segment.p_offset, segment.p_filesz);
        const auto memory_end = checked_add(segment.p_paddr, segment.p_memsz);
        if (!file_end || *file_end > file.size() || segment.p_filesz > segment.p_memsz ||
            !memory_end) {
            return fail("{}: the decompressed kernel's segment {} is out of bounds", name, i);
        }
        kernel.segments.push_back(
            {segment.p_paddr, file.subspan(segment.p_offset, segment.p_filesz), segment.p_memsz});
        entry_loaded = entry_loaded ||
                       (header.e_entry >= segment.p_paddr && header.e_entry < *memory_end);
    }
    if (kernel.segments.empty() || !entry_loaded) {
        return fail("{}: the decompressed kernel's entry {:#x} is in no loaded segment", name,
                    header.e_entry);
    }
    return kernel;
}

}  // namespace hvmm::boot
