// `hvmm bench NAME`: the built command finds bench/NAME.sh in the source tree and runs it, its
// status ours; unknown names and a bare `hvmm bench` are usage errors. No lab boots here: the
// scripts refuse the malformed arguments given before they would start one.
#include <gtest/gtest.h>

#include <string>

#include "subprocess.h"

namespace hvmm::cli {
namespace {

TEST(BenchCommand, HelpListsTheBenchmarks) {
    const auto help = test::run_process({HVMM_BINARY, "bench", "--help"});
    EXPECT_EQ(help.status, 0);
    for (const char* name : {"paper", "tx-pairs", "vmnet", "boot", "lab-levers"}) {
        EXPECT_NE(help.out.find(std::string("  ") + name + " "), std::string::npos) << name;
    }
    const auto bare = test::run_process({HVMM_BINARY, "bench"});
    EXPECT_EQ(bare.status, 2);
    EXPECT_EQ(bare.err, help.out);
}

TEST(BenchCommand, AnUnknownBenchmarkIsOneLineNamingIt) {
    const auto result = test::run_process({HVMM_BINARY, "bench", "../lab/run"});
    EXPECT_EQ(result.status, 2);
    EXPECT_EQ(result.err,
              "hvmm bench: unknown benchmark '../lab/run' (try: paper, tx-pairs, vmnet, boot, "
              "lab-levers)\n");
}

TEST(BenchCommand, RunsTheScriptWithItsArgumentsAndPassesItsStatus) {
    const auto result = test::run_process({HVMM_BINARY, "bench", "paper", "lots"});
    EXPECT_EQ(result.status, 2);
    EXPECT_NE(result.err.find("usage: bench/paper.sh [SECS]"), std::string::npos) << result.err;
}

TEST(BenchCommand, AnHvmmBinNamedInTheEnvironmentIsTheOneMeasured) {
    const auto result = test::run_process({HVMM_BINARY, "bench", "tx-pairs", "1", "1"},
                                          {{"HVMM_BIN", "/nonexistent/hvmm"}});
    EXPECT_EQ(result.status, 1);
    EXPECT_NE(result.err.find("no hvmm binary at /nonexistent/hvmm"), std::string::npos)
        << result.err;
}

}  // namespace
}  // namespace hvmm::cli
