#include "boot/bzimage.h"

#include <cstring>

#include "boot/file_reader.h"

namespace hvmm::boot {
namespace {

constexpr uint32_t kSectorSize = 512;
// A header's extent is 0x202 + the byte at 0x201 (the jump's displacement).
constexpr size_t kJumpDisplacementOffset = 0x201;
constexpr size_t kHeaderExtentBase = 0x202;

std::unexpected<Error> not_a_bzimage(std::string_view name, std::string_view why) {
    return fail("{} is not a bzImage ({})", name, why);
}

}  // namespace

Result<BzImage> parse_bzimage(std::span<const uint8_t> file, std::string_view name) {
    if (file.size() < kSetupHeaderOffset + sizeof(SetupHeader)) {
        return not_a_bzimage(name, fmt::format("only {} bytes long", file.size()));
    }
    if (file.size() > kMaximumBzImageSize) {
        return fail("{} is {} MiB, too large to be a kernel", name, file.size() >> 20);
    }
    BzImage image{};
    std::memcpy(&image.header, file.data() + kSetupHeaderOffset, sizeof(SetupHeader));
    const SetupHeader& header = image.header;

    if (header.boot_flag != kBootFlagSignature) {
        return not_a_bzimage(name, "no 0xAA55 boot signature");
    }
    if (header.header != kHeaderMagic) {
        return not_a_bzimage(name, "no HdrS signature");
    }
    if (header.version < kMinimumBootProtocol) {
        return fail("{} uses boot protocol {}.{:02}; hvmm needs 2.12 or later", name,
                    header.version >> 8, header.version & 0xFF);
    }
    if ((header.loadflags & kLoadedHigh) == 0) {
        return not_a_bzimage(name, "a zImage: it loads below 1 MiB");
    }
    if ((header.xloadflags & kXlfKernel64) == 0) {
        return fail("{} has no 64-bit entry point (XLF_KERNEL_64 is not set)", name);
    }

    const uint32_t extent = kHeaderExtentBase + file[kJumpDisplacementOffset];
    image.header_length = std::min<uint32_t>(extent - kSetupHeaderOffset, sizeof(SetupHeader));

    // Zero setup sectors means 4: a convention kept from before the field existed.
    const uint32_t setup_sects = header.setup_sects == 0 ? 4 : header.setup_sects;
    image.setup_size = (setup_sects + 1) * kSectorSize;
    if (image.setup_size >= file.size()) {
        return fail("{} is truncated: {} bytes of setup code but the file has {} bytes", name,
                    image.setup_size, file.size());
    }
    const uint64_t kernel_size = file.size() - image.setup_size;
    const uint64_t declared_size = uint64_t{header.syssize} * 16;
    if (declared_size == 0 || declared_size > kernel_size) {
        return fail("{} is truncated: its header declares {} bytes of kernel, the file holds {}",
                    name, declared_size, kernel_size);
    }
    if (header.init_size < kernel_size) {
        return fail(
            "{} has an inconsistent header: init_size {:#x} is smaller than its {} bytes "
            "of kernel",
            name, uint32_t{header.init_size}, kernel_size);  // a copy: the field is packed
    }
    image.kernel.assign(file.begin() + image.setup_size, file.end());
    return image;
}

Result<BzImage> read_bzimage(const std::string& path) {
    const auto file = HVMM_TRY(read_whole_file(path, kMaximumBzImageSize));
    return parse_bzimage(file, path);
}

}  // namespace hvmm::boot
