#include "boot/linux_loader.h"

#include <gtest/gtest.h>

#include "cli/default_image.h"
#include "guest_image_requirement.h"
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "boot/acpi/acpi_tables.h"
#include "boot/boot_params.h"
#include "boot/bzimage.h"
#include "boot/long_mode.h"
#include "boot/synthetic_bzimage.h"

namespace hvmm::boot {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kMiB = 1ull << 20;

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "hvmm-loader-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() { fs::remove_all(path_); }
    std::string write(const std::string& name, std::span<const uint8_t> bytes) const {
        const std::string path = (fs::path(path_) / name).string();
        std::ofstream(path, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size()));
        return path;
    }
    // A file of size bytes that reads as zeros, without writing them.
    std::string sparse(const std::string& name, uint64_t size) const {
        const std::string path = (fs::path(path_) / name).string();
        std::ofstream(path, std::ios::binary).close();
        fs::resize_file(path, size);
        return path;
    }

  private:
    std::string path_;
};

std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
    std::vector<uint8_t> bytes(size);
    std::iota(bytes.begin(), bytes.end(), seed);
    return bytes;
}

class LinuxLoaderTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto created = GuestMemory::create(64 * kMiB);
        ASSERT_TRUE(created) << created.error().message;
        memory_.emplace(std::move(*created));
        payload_ = pattern(8192, 3);
        spec_.kernel_path = dir_.write("vmlinuz", make_synthetic_bzimage(payload_, options_));
        spec_.cmdline = "console=ttyS0 reboot=k panic=-1";
    }
    void rewrite_kernel(const SyntheticBzImageOptions& options) {
        spec_.kernel_path = dir_.write("vmlinuz", make_synthetic_bzimage(payload_, options));
    }
    BootParams zero_page() const {
        auto params = memory_->read_obj<BootParams>(GuestAddress(kBootParamsAddress));
        EXPECT_TRUE(params);
        return params.value_or(BootParams{});
    }
    uint64_t read_u64(uint64_t address) const {
        return memory_->read_obj<uint64_t>(GuestAddress(address)).value_or(~uint64_t{0});
    }
    // Walks the page tables the loader built, as the MMU would with 2 MiB pages.
    std::optional<uint64_t> translate(uint64_t cr3, uint64_t virt) const {
        const uint64_t kAddressMask = 0x000F'FFFF'FFFF'F000;
        const uint64_t pml4e = read_u64(cr3 + ((virt >> 39) & 511) * 8);
        if ((pml4e & kPtePresent) == 0)
            return std::nullopt;
        const uint64_t pdpte = read_u64((pml4e & kAddressMask) + ((virt >> 30) & 511) * 8);
        if ((pdpte & kPtePresent) == 0 || (pdpte & kPteLargePage) != 0)
            return std::nullopt;
        const uint64_t pde = read_u64((pdpte & kAddressMask) + ((virt >> 21) & 511) * 8);
        if ((pde & kPtePresent) == 0 || (pde & kPteLargePage) == 0)
            return std::nullopt;
        return (pde & 0x000F'FFFF'FFE0'0000) + (virt & 0x1F'FFFF);
    }

    TempDir dir_;
    std::optional<GuestMemory> memory_;
    std::vector<uint8_t> payload_;
    SyntheticBzImageOptions options_;
    LinuxBootSpec spec_;
};

TEST_F(LinuxLoaderTest, KernelPayloadLandsAtOneMiB) {
    ASSERT_TRUE(load_linux(*memory_, spec_));
    std::vector<uint8_t> loaded(payload_.size());
    ASSERT_TRUE(memory_->read(GuestAddress(kKernelLoadAddress), loaded));
    EXPECT_EQ(loaded, payload_);
}

TEST_F(LinuxLoaderTest, CpuStartsAtThe64BitEntryInLongMode) {
    const auto state = load_linux(*memory_, spec_);
    ASSERT_TRUE(state) << state.error().message;
    EXPECT_EQ(state->rip, 0x100200u);
    EXPECT_EQ(state->rsi, 0x7000u);
    EXPECT_EQ(state->rflags, 2u);                       // reserved bit only: interrupts off
    EXPECT_EQ(state->cr0 & 0x8000'0001, 0x8000'0001u);  // PG | PE
    EXPECT_EQ(state->cr0 & 0x30, 0x30u);                // ET | NE
    EXPECT_EQ(state->cr4 & 0x20, 0x20u);                // PAE
    EXPECT_EQ(state->efer, 0x500u);                     // LME | LMA
    EXPECT_EQ(state->cr3, 0x9000u);
    EXPECT_EQ(state->gdt_base, 0x500u);
    EXPECT_EQ(state->gdt_limit, 31u);
    EXPECT_EQ(state->code.selector, 0x10);
    EXPECT_EQ(state->data.selector, 0x18);
    EXPECT_EQ(state->code.l, 1);
    EXPECT_EQ(state->code.db, 0);
}

// A descriptor's fields unpacked as the CPU reads them (Intel SDM vol. 3, 3.4.5).
Segment decode_descriptor(uint64_t descriptor, uint16_t selector) {
    Segment segment{};
    segment.selector = selector;
    segment.base = ((descriptor >> 16) & 0xFF'FFFF) | (((descriptor >> 56) & 0xFF) << 24);
    const uint32_t raw_limit = (descriptor & 0xFFFF) | (((descriptor >> 48) & 0xF) << 16);
    segment.type = (descriptor >> 40) & 0xF;
    segment.s = (descriptor >> 44) & 1;
    segment.dpl = (descriptor >> 45) & 3;
    segment.present = (descriptor >> 47) & 1;
    segment.l = (descriptor >> 53) & 1;
    segment.db = (descriptor >> 54) & 1;
    segment.g = (descriptor >> 55) & 1;
    segment.limit = segment.g ? (raw_limit << 12) | 0xFFF : raw_limit;
    return segment;
}

void expect_same_segment(const Segment& a, const Segment& b) {
    EXPECT_EQ(a.base, b.base);
    EXPECT_EQ(a.limit, b.limit);
    EXPECT_EQ(a.selector, b.selector);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.present, b.present);
    EXPECT_EQ(a.dpl, b.dpl);
    EXPECT_EQ(a.db, b.db);
    EXPECT_EQ(a.s, b.s);
    EXPECT_EQ(a.l, b.l);
    EXPECT_EQ(a.g, b.g);
}

TEST_F(LinuxLoaderTest, GdtInMemoryMatchesTheSegmentsTheCpuIsGiven) {
    const auto state = load_linux(*memory_, spec_);
    ASSERT_TRUE(state) << state.error().message;
    EXPECT_EQ(read_u64(0x500), 0u);
    const uint64_t code = read_u64(state->gdt_base + state->code.selector);
    const uint64_t data = read_u64(state->gdt_base + state->data.selector);
    expect_same_segment(decode_descriptor(code, 0x10), state->code);
    expect_same_segment(decode_descriptor(data, 0x18), state->data);
    EXPECT_EQ(state->code.type, 0xB);  // execute/read, accessed
    EXPECT_EQ(state->data.type, 0x3);  // read/write, accessed
}

TEST_F(LinuxLoaderTest, PageTablesIdentityMapTheFirstFourGiB) {
    const auto state = load_linux(*memory_, spec_);
    ASSERT_TRUE(state) << state.error().message;
    for (const uint64_t address : {0ull, 0x7000ull, 0x100200ull, 0x3FF'FFFFull, 0xC000'0000ull,
                                   0xFEC0'0000ull, 0xFEE0'0ABCull, 0xFFFF'FFFFull}) {
        EXPECT_EQ(translate(state->cr3, address), address) << std::hex << address;
    }
    EXPECT_EQ(translate(state->cr3, 4ull << 30), std::nullopt);
}

TEST_F(LinuxLoaderTest, ZeroPageCarriesTheHeaderAndTheLoadersFields) {
    ASSERT_TRUE(load_linux(*memory_, spec_));
    const BootParams params = zero_page();
    EXPECT_EQ(params.hdr.header, kHeaderMagic);
    EXPECT_EQ(params.hdr.boot_flag, 0xAA55);
    EXPECT_EQ(params.hdr.version, 0x020F);
    EXPECT_EQ(params.hdr.type_of_loader, 0xFF);
    EXPECT_EQ(params.hdr.loadflags, kLoadedHigh | kCanUseHeap);
    EXPECT_EQ(params.hdr.heap_end_ptr, 0xFE00);
    EXPECT_EQ(params.hdr.cmd_line_ptr, 0x20000u);
    EXPECT_EQ(params.hdr.ramdisk_image, 0u);
    EXPECT_EQ(params.hdr.ramdisk_size, 0u);
    EXPECT_EQ(params.acpi_rsdp_addr, acpi::kRsdpAddress);
    EXPECT_EQ(params.sentinel, 0);
    ASSERT_EQ(params.e820_entries, 3);
    EXPECT_EQ(params.e820_table[2].address, 0x100000u);
    EXPECT_EQ(params.e820_table[2].address + params.e820_table[2].size, 64 * kMiB);
}

TEST_F(LinuxLoaderTest, OnlyTheHeaderBytesTheImageDeclaresAreCopied) {
    // An image whose header ends at 0x268 (protocol 2.12's extent) with junk where 2.15's
    // kernel_info_offset would be: the zero page must keep that field zero.
    auto file = make_synthetic_bzimage(payload_, options_);
    file[0x201] = 0x66;
    file[0x268] = 0xAB;
    spec_.kernel_path = dir_.write("vmlinuz", file);
    ASSERT_TRUE(load_linux(*memory_, spec_));
    const BootParams params = zero_page();
    EXPECT_EQ(params.hdr.kernel_info_offset, 0u);
    EXPECT_EQ(params.hdr.handover_offset, 0u);
    EXPECT_EQ(params.hdr.header, kHeaderMagic);
}

TEST_F(LinuxLoaderTest, CommandLineIsNulTerminatedAtItsAddress) {
    ASSERT_TRUE(load_linux(*memory_, spec_));
    std::vector<uint8_t> line(spec_.cmdline.size() + 1);
    ASSERT_TRUE(memory_->read(GuestAddress(0x20000), line));
    EXPECT_EQ(std::string(line.begin(), line.end() - 1), spec_.cmdline);
    EXPECT_EQ(line.back(), 0);
}

TEST_F(LinuxLoaderTest, CommandLineLongerThan2047IsRefused) {
    spec_.cmdline.assign(2048, 'x');
    const auto state = load_linux(*memory_, spec_);
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().message,
              "the kernel command line is 2048 characters long; at most 2047 are allowed");
    spec_.cmdline.assign(2047, 'x');
    EXPECT_TRUE(load_linux(*memory_, spec_));
}

TEST_F(LinuxLoaderTest, CommandLineLongerThanTheKernelsLimitIsRefused) {
    options_.cmdline_size = 255;
    rewrite_kernel(options_);
    spec_.cmdline.assign(256, 'x');
    const auto state = load_linux(*memory_, spec_);
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().message,
              "the kernel command line is 256 characters long; at most 255 are allowed");
}

TEST_F(LinuxLoaderTest, InitrdIsLoadedAtTheTopOfRamPageAligned) {
    const auto initrd = pattern(kMiB + 123, 9);
    spec_.initrd_path = dir_.write("initrd", initrd);
    ASSERT_TRUE(load_linux(*memory_, spec_));
    const BootParams params = zero_page();
    EXPECT_EQ(params.hdr.ramdisk_size, initrd.size());
    EXPECT_EQ(params.hdr.ramdisk_image % 4096, 0u);
    EXPECT_EQ(params.hdr.ramdisk_image, (64 * kMiB - initrd.size()) & ~uint64_t{0xFFF});
    std::vector<uint8_t> loaded(initrd.size());
    ASSERT_TRUE(memory_->read(GuestAddress(params.hdr.ramdisk_image), loaded));
    EXPECT_EQ(loaded, initrd);
}

TEST_F(LinuxLoaderTest, InitrdStaysBelowTheKernelsInitrdAddrMax) {
    options_.initrd_addr_max = 32 * kMiB - 1;
    rewrite_kernel(options_);
    spec_.initrd_path = dir_.write("initrd", pattern(4096, 1));
    ASSERT_TRUE(load_linux(*memory_, spec_));
    EXPECT_EQ(zero_page().hdr.ramdisk_image, 32 * kMiB - 4096);
}

TEST_F(LinuxLoaderTest, InitrdOverlappingTheDecompressedKernelIsRefused) {
    // The kernel decompresses at its preferred 16 MiB and needs init_size (40 MiB) from there.
    options_.init_size = 40 * kMiB;
    rewrite_kernel(options_);
    spec_.initrd_path = dir_.sparse("initrd", 9 * kMiB);
    const auto state = load_linux(*memory_, spec_);
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().message,
              "initrd of 9 MiB does not fit below 0x4000000 (above the kernel, which needs memory "
              "up to 0x3800000) with 64 MiB of memory");
}

TEST_F(LinuxLoaderTest, InitrdLargerThanTheGuestIsNamedEvenWhenTheKernelDoesNotFitEither) {
    options_.init_size = 60 * kMiB;
    rewrite_kernel(options_);
    spec_.initrd_path = dir_.sparse("initrd", 96 * kMiB);
    const auto state = load_linux(*memory_, spec_);
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().message,
              "initrd of 96 MiB does not fit below 0x4000000 (above the kernel, which needs memory "
              "up to 0x4c00000) with 64 MiB of memory");
}

TEST_F(LinuxLoaderTest, MissingInitrdIsRefusedNamingIt) {
    spec_.initrd_path = "/nonexistent/initrd.img";
    const auto state = load_linux(*memory_, spec_);
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().message,
              "cannot open /nonexistent/initrd.img: No such file or directory");
}

TEST_F(LinuxLoaderTest, KernelNeedingMoreMemoryThanTheGuestHasIsRefused) {
    options_.init_size = 60 * kMiB;
    rewrite_kernel(options_);
    const auto state = load_linux(*memory_, spec_);
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().message, spec_.kernel_path +
                                         " needs memory up to 76 MiB to start, the guest's RAM "
                                         "from 1 MiB ends at 64 MiB");
}

TEST_F(LinuxLoaderTest, AcpiTablesAreInPlaceForTheGuest) {
    ASSERT_TRUE(load_linux(*memory_, spec_));
    std::array<uint8_t, 8> signature{};
    ASSERT_TRUE(memory_->read(GuestAddress(acpi::kRsdpAddress), signature));
    EXPECT_EQ(std::string(signature.begin(), signature.end()), "RSD PTR ");
}

TEST_F(LinuxLoaderTest, TooManyCpusAreRefused) {
    spec_.cpu_count = 255;
    const auto state = load_linux(*memory_, spec_);
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().message, "255 vCPUs requested; hvmm's ACPI tables describe 1 to 254");
}

// Guest memory shapes in which a boot structure has nowhere to go: each is a clear error.
TEST(LinuxLoaderTinyMemory, MemoryWithoutLowPagesIsAnErrorNotACrash) {
    TempDir dir;
    LinuxBootSpec spec;
    spec.kernel_path = dir.write("vmlinuz", make_synthetic_bzimage(pattern(4096, 1)));
    const std::pair<uint64_t, uint64_t> layout[] = {{0x100000, 63 * kMiB}};
    auto memory = GuestMemory::create_with_regions(layout);
    ASSERT_TRUE(memory);
    const auto state = load_linux(*memory, spec);
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().message,
              "the kernel command line (1 bytes at 0x20000) does not fit in the guest's 63 MiB of "
              "memory");
}

TEST(LinuxLoaderTinyMemory, MemoryEndingBelowTheKernelIsAnErrorNotACrash) {
    TempDir dir;
    LinuxBootSpec spec;
    spec.kernel_path = dir.write("vmlinuz", make_synthetic_bzimage(pattern(4096, 1)));
    for (const uint64_t size : {0x1000ull, 0x8000ull, 0xF0000ull, 0x100800ull}) {
        const std::pair<uint64_t, uint64_t> layout[] = {{0, size}};
        auto memory = GuestMemory::create_with_regions(layout);
        ASSERT_TRUE(memory);
        const auto state = load_linux(*memory, spec);
        ASSERT_FALSE(state) << size;
        EXPECT_NE(state.error().message.find("needs memory up to"), std::string::npos)
            << state.error().message;
    }
}

TEST(LinuxLoaderTinyMemory, HoleUnderTheAcpiTablesIsAnErrorNotACrash) {
    TempDir dir;
    LinuxBootSpec spec;
    spec.kernel_path = dir.write("vmlinuz", make_synthetic_bzimage(pattern(4096, 1)));
    const std::pair<uint64_t, uint64_t> layout[] = {{0, 0xA0000}, {0x100000, 63 * kMiB}};
    auto memory = GuestMemory::create_with_regions(layout);
    ASSERT_TRUE(memory);
    const auto state = load_linux(*memory, spec);
    ASSERT_FALSE(state);
    EXPECT_NE(state.error().message.find("the ACPI tables ("), std::string::npos)
        << state.error().message;
}

}  // namespace
}  // namespace hvmm::boot

namespace hvmm::boot {
namespace {

// The Debian kernel and initrd the guest image builder caches, loaded as hvmm's default guest.
TEST(LinuxLoaderRealKernel, DebianKernelAndInitrdLoadIntoA256MiBGuest) {
    const auto image = cli::default_image_paths();
    ASSERT_TRUE(image) << image.error().message;
    const fs::path guest = fs::path(image->kernel_path).parent_path();
    if (!fs::is_regular_file(guest / "vmlinuz") || !fs::is_regular_file(guest / "initrd.img")) {
        HVMM_GUEST_IMAGE_MISSING("no guest image in " << guest << " (the guest image builder makes it)");
    }
    auto memory = GuestMemory::create(256 * kMiB);
    ASSERT_TRUE(memory);
    LinuxBootSpec spec{(guest / "vmlinuz").string(), "", (guest / "initrd.img").string(),
                       "console=ttyS0 reboot=k panic=-1"};
    const auto state = load_linux(*memory, spec);
    ASSERT_TRUE(state) << state.error().message;

    const auto params = memory->read_obj<BootParams>(GuestAddress(kBootParamsAddress));
    ASSERT_TRUE(params);
    EXPECT_GE(params->hdr.version, 0x020C);
    EXPECT_EQ(params->hdr.ramdisk_size, fs::file_size(guest / "initrd.img"));
    // Above the memory the kernel decompresses into: from its preferred 16 MiB, init_size long.
    EXPECT_GE(params->hdr.ramdisk_image, params->hdr.pref_address + params->hdr.init_size);
    EXPECT_LE(params->hdr.ramdisk_image + params->hdr.ramdisk_size, 256 * kMiB);

    // The 64-bit entry holds the file's bytes at setup size + 0x200.
    std::ifstream file(spec.kernel_path, std::ios::binary);
    const uint32_t setup_size = (params->hdr.setup_sects + 1) * 512;
    file.seekg(setup_size + 0x200);
    std::array<char, 16> expected{};
    file.read(expected.data(), expected.size());
    std::array<uint8_t, 16> loaded{};
    ASSERT_TRUE(memory->read(GuestAddress(state->rip), loaded));
    EXPECT_EQ(0, std::memcmp(expected.data(), loaded.data(), loaded.size()));
}

// The image builder's vmlinux (vmlinuz's kernel, decompressed): hvmm enters it at startup_64,
// where Debian links it (LOAD_PHYSICAL_ADDR, 16 MiB), and the initrd stays above its memory.
TEST(LinuxLoaderRealKernel, DecompressedKernelIsEnteredAtStartup64) {
    const auto image = cli::default_image_paths();
    ASSERT_TRUE(image) << image.error().message;
    if (!fs::is_regular_file(image->vmlinux_path) || !fs::is_regular_file(image->initrd_path)) {
        HVMM_GUEST_IMAGE_MISSING("no vmlinux in the guest image (guest/build-image.sh makes it)");
    }
    auto memory = GuestMemory::create(256 * kMiB);
    ASSERT_TRUE(memory);
    LinuxBootSpec spec{image->kernel_path, image->vmlinux_path, image->initrd_path,
                       "console=ttyS0 reboot=k panic=-1"};
    const auto state = load_linux(*memory, spec);
    ASSERT_TRUE(state) << state.error().message;
    const auto params = memory->read_obj<BootParams>(GuestAddress(kBootParamsAddress));
    ASSERT_TRUE(params);
    EXPECT_EQ(state->rip, params->hdr.pref_address);
    EXPECT_EQ(state->rsi, kBootParamsAddress);
    EXPECT_GE(params->hdr.ramdisk_image, params->hdr.pref_address + params->hdr.init_size);
    // The bzImage's own entry was not loaded: 1 MiB is untouched.
    std::array<uint8_t, 16> at_one_mib{};
    ASSERT_TRUE(memory->read(GuestAddress(kKernelLoadAddress + kKernel64EntryOffset), at_one_mib));
    EXPECT_EQ(at_one_mib, (std::array<uint8_t, 16>{}));
}

// A vmlinux that is not the bzImage's (wrong size) is ignored: the guest decompresses as usual.
TEST(LinuxLoaderRealKernel, MismatchedDecompressedKernelFallsBackToTheBzImage) {
    const auto image = cli::default_image_paths();
    ASSERT_TRUE(image) << image.error().message;
    if (!fs::is_regular_file(image->kernel_path)) {
        HVMM_GUEST_IMAGE_MISSING("no guest image (the guest image builder makes it)");
    }
    TempDir dir;
    auto memory = GuestMemory::create(256 * kMiB);
    ASSERT_TRUE(memory);
    LinuxBootSpec spec{image->kernel_path, dir.write("vmlinux", pattern(4096, 7)), "",
                       "console=ttyS0"};
    const auto state = load_linux(*memory, spec);
    ASSERT_TRUE(state) << state.error().message;
    EXPECT_EQ(state->rip, kKernelLoadAddress + kKernel64EntryOffset);
}

TEST(LinuxLoaderRealKernel, SixtyFourMiBGuestIsRefusedExactlyWhenTheKernelCannotDecompress) {
    const auto paths = cli::default_image_paths();
    ASSERT_TRUE(paths) << paths.error().message;
    const fs::path kernel = paths->kernel_path;
    if (!fs::is_regular_file(kernel)) {
        HVMM_GUEST_IMAGE_MISSING("no " << kernel << " (the guest image builder makes it)");
    }
    const auto image = read_bzimage(kernel.string());
    ASSERT_TRUE(image) << image.error().message;
    // Debian 6.1's init_size is about 64 MiB, needed from its preferred 16 MiB.
    const bool fits = image->header.pref_address + image->header.init_size <= 64 * kMiB;
    auto memory = GuestMemory::create(64 * kMiB);
    ASSERT_TRUE(memory);
    const auto state = load_linux(*memory, LinuxBootSpec{kernel.string(), "", ""});
    EXPECT_EQ(state.has_value(), fits);
    if (!state) {
        EXPECT_NE(state.error().message.find("needs memory up to"), std::string::npos);
    }
}

}  // namespace
}  // namespace hvmm::boot
