// The DSDT as ACPICA's own disassembler reads it: if iasl parses every object and names them as
// hvmm meant, so will the guest's ACPICA.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "boot/acpi/acpi_tables.h"
#include "boot/acpi/dsdt.h"
#include "boot/pci_intx_route.h"

namespace hvmm::boot::acpi {
namespace {

namespace fs = std::filesystem;

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "hvmm-acpi-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    ~TempDir() { fs::remove_all(path_); }
    fs::path path() const { return path_; }

  private:
    std::string path_;
};

void write_file(const fs::path& path, std::span<const uint8_t> bytes) {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool iasl_installed() {
    return std::system("command -v iasl >/dev/null 2>&1") == 0;
}

// Runs iasl -d on file in its directory; returns the .dsl text, or fails the test.
std::string disassemble(const TempDir& dir, const std::string& name) {
    const fs::path log = dir.path() / "iasl.log";
    const std::string command =
        "cd '" + dir.path().string() + "' && iasl -d " + name + " > '" + log.string() + "' 2>&1";
    const int status = std::system(command.c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "iasl -d failed:\n"
                                                               << read_text(log);
    return read_text(dir.path() / (fs::path(name).stem().string() + ".dsl"));
}

TEST(AcpiIasl, DsdtDisassemblesWithItsObjects) {
    ASSERT_TRUE(iasl_installed())
        << "iasl is missing: install acpica-tools (apt-get install -y acpica-tools)";
    TempDir dir;
    const auto routes = default_pci_intx_routes();
    write_file(dir.path() / "dsdt.dat", build_dsdt(routes));
    const std::string dsl = disassemble(dir, "dsdt.dat");
    for (const char* expected :
         {"_PRT", "_S5_", "PNP0A03", "PNP0501", "PNP0B00", "_CRS", "WordBusNumber", "DWordMemory",
          "IRQNoFlags", "0x03F8", "0x001FFFFF"}) {
        EXPECT_NE(dsl.find(expected), std::string::npos) << expected << " missing in:\n" << dsl;
    }
    EXPECT_EQ(dsl.find("Unknown"), std::string::npos) << dsl;
}

TEST(AcpiIasl, EveryTableDisassemblesWithoutErrors) {
    ASSERT_TRUE(iasl_installed())
        << "iasl is missing: install acpica-tools (apt-get install -y acpica-tools)";
    TempDir dir;
    const auto image = build_acpi_tables(AcpiConfig{2, {}});
    ASSERT_TRUE(image) << image.error().message;
    auto table = [&](uint64_t address) {
        const auto* start = image->bytes.data() + (address - kRsdpAddress);
        uint32_t length = 0;
        std::memcpy(&length, start + 4, 4);
        return std::span(start, length);
    };
    write_file(dir.path() / "facp.dat", table(image->fadt));
    write_file(dir.path() / "apic.dat", table(image->madt));
    write_file(dir.path() / "xsdt.dat", table(image->xsdt));
    const std::string fadt = disassemble(dir, "facp.dat");
    EXPECT_NE(fadt.find("Hardware Reduced (V5) : 1"), std::string::npos) << fadt;
    EXPECT_NE(fadt.find("Sleep Control Register"), std::string::npos) << fadt;
    const std::string madt = disassemble(dir, "apic.dat");
    EXPECT_NE(madt.find("I/O APIC"), std::string::npos) << madt;
    EXPECT_NE(madt.find("FEC00000"), std::string::npos) << madt;
    disassemble(dir, "xsdt.dat");
}

}  // namespace
}  // namespace hvmm::boot::acpi
