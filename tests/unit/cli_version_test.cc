// hvmm's version line, from the function and from the built command.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "cli/version.h"
#include "subprocess.h"

namespace hvmm::cli {
namespace {

// The short revision git prints (7+ hex digits), optionally -dirty, or unknown outside git.
const std::regex kVersionLine(
    R"(hvmm [0-9]+\.[0-9]+\.[0-9]+ \(git ([0-9a-f]{7,}(-dirty)?|unknown)\))");

TEST(Version, LineNamesTheVersionAndTheRevision) {
    EXPECT_EQ(format_version_line("0.1.0", "1a2b3c4"), "hvmm 0.1.0 (git 1a2b3c4)");
    EXPECT_EQ(format_version_line("0.1.0", "1a2b3c4-dirty"), "hvmm 0.1.0 (git 1a2b3c4-dirty)");
    EXPECT_EQ(format_version_line("0.1.0", "unknown"), "hvmm 0.1.0 (git unknown)");
}

TEST(Version, ThisBuildsLineCarriesTheProjectVersion) {
    const std::string line = version_line();
    EXPECT_TRUE(std::regex_match(line, kVersionLine)) << line;
    EXPECT_EQ(line.rfind(std::string("hvmm ") + HVMM_VERSION + " (git ", 0), 0u) << line;
}

TEST(Version, DashDashVersionPrintsOneLineAndExitsZero) {
    for (const char* spelling : {"--version", "version"}) {
        const auto result = test::run_process({HVMM_BINARY, spelling});
        EXPECT_EQ(result.status, 0) << spelling;
        EXPECT_EQ(result.out, version_line() + "\n") << spelling;
        EXPECT_EQ(result.err, "") << spelling;
    }
}

TEST(Version, UsageTextStartsWithTheVersionLine) {
    const auto help = test::run_process({HVMM_BINARY, "--help"});
    EXPECT_EQ(help.status, 0);
    EXPECT_EQ(help.out.rfind(version_line() + "\nusage: hvmm run", 0), 0u) << help.out;
    EXPECT_NE(help.out.find("hvmm --version"), std::string::npos);
    // With no command at all, the same text goes to stderr and the status says it was wrong.
    const auto bare = test::run_process({HVMM_BINARY});
    EXPECT_EQ(bare.status, 1);
    EXPECT_EQ(bare.err, help.out);
}

}  // namespace
}  // namespace hvmm::cli
