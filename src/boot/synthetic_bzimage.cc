#include "boot/synthetic_bzimage.h"

#include <cstring>

namespace hvmm::boot {

std::vector<uint8_t> make_synthetic_bzimage(std::span<const uint8_t> payload,
                                            const SyntheticBzImageOptions& options) {
    const uint32_t setup_sects = options.setup_sects == 0 ? 4 : options.setup_sects;
    const size_t setup_size = (setup_sects + 1) * 512;
    // syssize counts 16-byte paragraphs, so the payload is padded to a whole one.
    const size_t kernel_size = (payload.size() + 15) & ~size_t{15};

    SetupHeader header{};
    header.setup_sects = options.setup_sects;
    header.syssize = static_cast<uint32_t>(kernel_size / 16);
    header.boot_flag = kBootFlagSignature;
    // A short jump over the header: EB, then the displacement that also marks the header's end.
    header.jump = 0xEB | ((sizeof(SetupHeader) + kSetupHeaderOffset - 0x202) << 8);
    header.header = kHeaderMagic;
    header.version = options.version;
    header.loadflags = kLoadedHigh;
    header.code32_start = 0x100000;
    header.initrd_addr_max = options.initrd_addr_max;
    header.kernel_alignment = 0x20'0000;
    header.relocatable_kernel = 1;
    header.xloadflags = options.xloadflags;
    header.cmdline_size = options.cmdline_size;
    header.pref_address = options.pref_address;
    header.init_size = options.init_size != 0
                           ? options.init_size
                           : static_cast<uint32_t>((kernel_size + 0xFFF) & ~size_t{0xFFF});

    std::vector<uint8_t> file(setup_size + kernel_size, 0);
    std::memcpy(file.data() + kSetupHeaderOffset, &header, sizeof(header));
    std::memcpy(file.data() + setup_size, payload.data(), payload.size());
    return file;
}

}  // namespace hvmm::boot
