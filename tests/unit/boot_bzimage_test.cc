#include "boot/bzimage.h"

#include <gtest/gtest.h>

#include "cli/default_image.h"
#include "guest_image_requirement.h"
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "boot/synthetic_bzimage.h"

namespace hvmm::boot {
namespace {

namespace fs = std::filesystem;

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "hvmm-bzimage-XXXXXX").string();
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
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

std::vector<uint8_t> pattern_payload(size_t size) {
    std::vector<uint8_t> payload(size);
    std::iota(payload.begin(), payload.end(), uint8_t{7});
    return payload;
}

void poke16(std::vector<uint8_t>& file, size_t offset, uint16_t value) {
    std::memcpy(file.data() + offset, &value, sizeof(value));
}

TEST(BzImage, SyntheticImageYieldsItsHeaderAndPayload) {
    const auto payload = pattern_payload(5000);
    const auto file = make_synthetic_bzimage(payload);
    const auto image = parse_bzimage(file, "synthetic");
    ASSERT_TRUE(image) << image.error().message;
    EXPECT_EQ(image->header.version, 0x020F);
    EXPECT_EQ(image->setup_size, 2u * 512);
    ASSERT_GE(image->kernel.size(), payload.size());
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), image->kernel.begin()));
    EXPECT_EQ(image->header_length, sizeof(SetupHeader));
}

TEST(BzImage, ZeroSetupSectorsMeansFour) {
    SyntheticBzImageOptions options;
    options.setup_sects = 0;
    const auto payload = pattern_payload(100);
    const auto image = parse_bzimage(make_synthetic_bzimage(payload, options), "synthetic");
    ASSERT_TRUE(image) << image.error().message;
    EXPECT_EQ(image->setup_size, 5u * 512);
    EXPECT_EQ(image->kernel[0], payload[0]);
}

TEST(BzImage, HeaderLengthFollowsTheJumpDisplacement) {
    auto file = make_synthetic_bzimage(pattern_payload(100));
    file[0x201] = 0x66;  // protocol 2.12's header ends at 0x268
    const auto image = parse_bzimage(file, "synthetic");
    ASSERT_TRUE(image) << image.error().message;
    EXPECT_EQ(image->header_length, 0x268u - 0x1F1u);
}

TEST(BzImage, FileWithoutHdrSIsRefusedNamingTheFile) {
    auto file = make_synthetic_bzimage(pattern_payload(100));
    file[0x202] = 'X';
    const auto image = parse_bzimage(file, "/x/y");
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().message, "/x/y is not a bzImage (no HdrS signature)");
}

TEST(BzImage, FileWithoutBootFlagIsRefused) {
    auto file = make_synthetic_bzimage(pattern_payload(100));
    poke16(file, 0x1FE, 0);
    const auto image = parse_bzimage(file, "/x/y");
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().message, "/x/y is not a bzImage (no 0xAA55 boot signature)");
}

TEST(BzImage, TinyFileIsRefusedWithItsSize) {
    const std::vector<uint8_t> file(100, 0);
    const auto image = parse_bzimage(file, "/x/y");
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().message, "/x/y is not a bzImage (only 100 bytes long)");
}

TEST(BzImage, ProtocolOlderThan212IsRefused) {
    SyntheticBzImageOptions options;
    options.version = 0x020A;
    const auto image = parse_bzimage(make_synthetic_bzimage(pattern_payload(100), options), "/k");
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().message, "/k uses boot protocol 2.10; hvmm needs 2.12 or later");
}

TEST(BzImage, KernelWithout64BitEntryIsRefused) {
    SyntheticBzImageOptions options;
    options.xloadflags = 0;
    const auto image = parse_bzimage(make_synthetic_bzimage(pattern_payload(100), options), "/k");
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().message, "/k has no 64-bit entry point (XLF_KERNEL_64 is not set)");
}

TEST(BzImage, ZImageLoadedLowIsRefused) {
    auto file = make_synthetic_bzimage(pattern_payload(100));
    file[0x211] = 0;
    const auto image = parse_bzimage(file, "/k");
    ASSERT_FALSE(image);
    EXPECT_NE(image.error().message.find("/k is not a bzImage (a zImage"), std::string::npos);
}

TEST(BzImage, TruncatedKernelIsRefused) {
    auto file = make_synthetic_bzimage(pattern_payload(4096));
    file.resize(file.size() - 16);
    const auto image = parse_bzimage(file, "/k");
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().message,
              "/k is truncated: its header declares 4096 bytes of kernel, the file holds 4080");
}

TEST(BzImage, FileEndingInsideTheSetupCodeIsRefused) {
    auto file = make_synthetic_bzimage(pattern_payload(100));
    file[0x1F1] = 40;  // 41 sectors of setup, far more than the file holds
    const auto image = parse_bzimage(file, "/k");
    ASSERT_FALSE(image);
    EXPECT_NE(image.error().message.find("/k is truncated: 20992 bytes of setup code"),
              std::string::npos);
}

TEST(BzImage, MissingFileIsRefusedNamingIt) {
    const auto image = read_bzimage("/nonexistent/vmlinuz");
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().message, "cannot open /nonexistent/vmlinuz: No such file or directory");
}

TEST(BzImage, DirectoryIsRefused) {
    TempDir dir;
    const auto image = read_bzimage(dir.path());
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().message, dir.path() + " is not a regular file");
}

TEST(BzImage, TextFileIsRefusedAsNotABzImage) {
    TempDir dir;
    const std::string text(2000, 'a');
    const auto path = dir.write(
        "notes.txt", std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    const auto image = read_bzimage(path);
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().message, path + " is not a bzImage (no 0xAA55 boot signature)");
}

TEST(BzImage, SyntheticImageReadsFromAFile) {
    TempDir dir;
    const auto payload = pattern_payload(3000);
    const auto path = dir.write("vmlinuz", make_synthetic_bzimage(payload));
    const auto image = read_bzimage(path);
    ASSERT_TRUE(image) << image.error().message;
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), image->kernel.begin()));
}

// The real Debian kernel, once the guest image builder (or the host's own /boot) provides one.
std::string find_real_kernel() {
    if (const auto image = cli::default_image_paths(); image && fs::is_regular_file(image->kernel_path)) {
        return image->kernel_path;
    }
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/boot", error)) {
        if (entry.path().filename().string().starts_with("vmlinuz-") && entry.is_regular_file()) {
            return entry.path().string();
        }
    }
    return {};
}

TEST(BzImage, RealKernelParsesWithA64BitEntry) {
    const std::string path = find_real_kernel();
    if (path.empty()) {
        HVMM_GUEST_IMAGE_MISSING("no default guest image kernel or /boot/vmlinuz-* on this machine");
    }
    const auto image = read_bzimage(path);
    ASSERT_TRUE(image) << image.error().message;
    EXPECT_GE(image->header.version, kMinimumBootProtocol);
    EXPECT_NE(image->header.xloadflags & kXlfKernel64, 0);
    EXPECT_EQ(image->header.relocatable_kernel, 1);
    EXPECT_GT(image->kernel.size(), 1u << 20);
    EXPECT_GE(image->header.init_size, image->kernel.size());
    EXPECT_GE(image->header.cmdline_size, 255u);
}

}  // namespace
}  // namespace hvmm::boot
