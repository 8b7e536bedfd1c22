// bench/lab_retry.sh: a benchmark's lab run is retried once when lab/run.sh itself lost it (its
// own 124 or 125, with its "hvmm lab:" reason on stderr), and only then.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "subprocess.h"

namespace hvmm {
namespace {

namespace fs = std::filesystem;

// A stand-in for lab/run.sh: run N (counted in a file beside it) prints "console N" on stdout
// and exits with the N-th of the statuses given as arguments; with a reason for that run
// (REASON_N in the environment) it prints "hvmm lab: REASON_N" on stderr first, as run.sh does
// for its own failures.
const char* kStandInRunner =
    "#!/bin/bash\n"
    "count=$(( $(cat \"$0.count\" 2>/dev/null || echo 0) + 1 )); echo $count >\"$0.count\"\n"
    "echo \"console $count\"\n"
    "reason=REASON_$count\n"
    "[[ -n ${!reason:-} ]] && echo \"hvmm lab: ${!reason}\" >&2\n"
    "shift $((count - 1)); exit \"$1\"\n";

struct RetryRun {
    test::ProcessResult process;
    int runs = 0;
    bool raw_emptied = false;
};

RetryRun run_with_retry(const std::vector<std::string>& statuses,
                        const std::map<std::string, std::string>& reasons) {
    char templ[] = "/tmp/hvmm-retry-test.XXXXXX";
    const std::string dir = ::mkdtemp(templ);
    const std::string runner = dir + "/run.sh";
    std::ofstream(runner) << kStandInRunner;
    ::chmod(runner.c_str(), 0755);
    fs::create_directories(dir + "/raw");
    std::ofstream(dir + "/raw/leftover") << "from the lost run";
    std::string command = "set -euo pipefail; source " + std::string(HVMM_SOURCE_DIR) +
                          "/bench/lab_retry.sh; run_lab_retrying_once bench/x.sh " + dir + "/raw " +
                          runner;
    for (const auto& status : statuses) command += " " + status;
    command += "; echo \"status=$LAB_STATUS retry=$LAB_RETRY\"";
    RetryRun run;
    run.process = test::run_process({"bash", "-c", command}, reasons);
    run.runs = std::stoi("0" + test::read_whole_file(runner + ".count"));
    run.raw_emptied = !fs::exists(dir + "/raw/leftover") && fs::exists(dir + "/raw");
    fs::remove_all(dir);
    return run;
}

TEST(BenchLabRetry, ALabFailureIsRetriedOnceSaidAndRecorded) {
    const auto run = run_with_retry({"125", "0"}, {{"REASON_1", "QEMU failed (status 1): boom"}});
    EXPECT_EQ(run.runs, 2);
    EXPECT_EQ(run.process.out,
              "console 1\nconsole 2\nstatus=0 retry=status 125: QEMU failed (status 1): boom\n");
    EXPECT_EQ(run.process.err,
              "hvmm lab: QEMU failed (status 1): boom\n"
              "bench/x.sh: the lab lost this run (status 125: QEMU failed (status 1): boom); "
              "retrying once\n");
    EXPECT_TRUE(run.raw_emptied) << "the lost run's leftovers must not mix with the retry's";
}

TEST(BenchLabRetry, ATimeoutIsRetriedButOnlyOnce) {
    const auto run = run_with_retry({"124", "124", "0"}, {{"REASON_1", "timed out after 60s"},
                                                          {"REASON_2", "timed out after 60s"}});
    EXPECT_EQ(run.runs, 2);
    EXPECT_EQ(run.process.out,
              "console 1\nconsole 2\nstatus=124 retry=status 124: timed out after 60s\n");
}

TEST(BenchLabRetry, TheInnerCommandsOwnStatusesAreNotRetried) {
    // 125 from the script itself: run.sh said nothing of its own.
    auto run = run_with_retry({"125", "0"}, {});
    EXPECT_EQ(run.runs, 1);
    EXPECT_EQ(run.process.out, "console 1\nstatus=125 retry=\n");
    EXPECT_FALSE(run.raw_emptied);
    // Any other status, even with a lab warning on stderr.
    run = run_with_retry({"1", "0"}, {{"REASON_1", "LAB-WARN insmod veth failed"}});
    EXPECT_EQ(run.runs, 1);
    EXPECT_EQ(run.process.out, "console 1\nstatus=1 retry=\n");
}

}  // namespace
}  // namespace hvmm
