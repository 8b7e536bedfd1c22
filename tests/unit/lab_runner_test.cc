// lab/run.sh's parts that need no lab boot, and hvmm's use of them: --describe (what `hvmm
// doctor` shows), a missing emulator, and, with a stand-in emulator (HVMM_LAB_QEMU) and a
// stand-in cached lab (HVMM_LAB_NO_BUILD), what a run through the lab prints where.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "lab/lab_description.h"
#include "subprocess.h"

namespace hvmm::lab {
namespace {

namespace fs = std::filesystem;

const std::string kRunner = std::string(HVMM_SOURCE_DIR) + "/lab/run.sh";

// A scratch directory removed with the test.
class ScratchDir {
  public:
    ScratchDir() {
        char templ[] = "/tmp/hvmm-lab-test.XXXXXX";
        path_ = ::mkdtemp(templ);
    }
    ~ScratchDir() { fs::remove_all(path_); }
    std::string path(const std::string& name = "") const {
        return name.empty() ? path_ : path_ + "/" + name;
    }

    std::string write(const std::string& name, const std::string& text,
                      bool executable = false) const {
        const std::string file = path(name);
        fs::create_directories(fs::path(file).parent_path());
        std::ofstream(file) << text;
        if (executable)
            ::chmod(file.c_str(), 0755);
        return file;
    }

  private:
    std::string path_;
};

// Answers --version as QEMU 10.0.2 would; anything else is an error (it must not be run).
const char* kVersionOnlyEmulator =
    "#!/bin/bash\n"
    "[[ $1 == --version ]] || { echo \"stand-in emulator: unexpected $*\" >&2; exit 99; }\n"
    "echo 'QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2~bpo12+1)'\n"
    "echo 'Copyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers'\n";

TEST(LabDescription, ParsesKeyValueLines) {
    const auto lab = parse_lab_description("cpus=2\nnoise\nemulator_version=QEMU a=b\ncpus=3\n");
    EXPECT_EQ(lab.at("cpus"), "3");
    EXPECT_EQ(lab.at("emulator_version"), "QEMU a=b");
    EXPECT_EQ(lab.size(), 2u);
}

TEST(LabDescription, DoctorLineNamesEmulatorVersionCpusModelMemoryAndCache) {
    const auto lab = parse_lab_description(
        "cpus=2\nmem_mib=2048\nemulator=/usr/bin/qemu-system-x86_64\nemulator_found=yes\n"
        "emulator_version=QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2~bpo12+1)\n"
        "accel=tcg,thread=multi\ncpu=EPYC,+svm\ncache=/root/.cache/hvmm/lab\nimage=built\n");
    EXPECT_EQ(
        format_lab_line(lab),
        "lab: QEMU 10.0.2 (/usr/bin/qemu-system-x86_64), TCG, 2 CPUs, EPYC with SVM, 2048 MiB; "
        "image cached in /root/.cache/hvmm/lab (built)");
}

TEST(LabDescription, DoctorLineSaysWhatIsMissing) {
    const auto lab = parse_lab_description(
        "cpus=1\nmem_mib=2048\nemulator=qemu-x\nemulator_found=no\nemulator_version=\n"
        "accel=tcg\ncpu=EPYC\ncache=/c/lab\nimage=not-built\n");
    const std::string line = format_lab_line(lab);
    EXPECT_NE(line.find("no emulator (qemu-x not found; HVMM_LAB_QEMU names one)"),
              std::string::npos)
        << line;
    EXPECT_NE(line.find(", 1 CPU, EPYC, 2048 MiB"), std::string::npos) << line;
    EXPECT_NE(line.find("(not built yet"), std::string::npos) << line;
}

TEST(LabRunner, DescribeReportsTheEnvironmentsChoicesAndBootsNothing) {
    ScratchDir dir;
    const std::string emulator = dir.write("qemu-fake", kVersionOnlyEmulator, true);
    const auto result = test::run_process(
        {"bash", kRunner, "--mem", "3072", "--describe"},
        {{"HVMM_LAB_CPUS", "2"}, {"HVMM_LAB_QEMU", emulator}, {"HVMM_CACHE", dir.path("cache")}});
    ASSERT_EQ(result.status, 0) << result.err;
    EXPECT_EQ(result.err, "");
    const auto lab = parse_lab_description(result.out);
    EXPECT_EQ(lab.at("cpus"), "2");
    EXPECT_EQ(lab.at("mem_mib"), "3072");
    EXPECT_EQ(lab.at("emulator"), emulator);
    EXPECT_EQ(lab.at("emulator_found"), "yes");
    EXPECT_EQ(lab.at("emulator_version"),
              "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2~bpo12+1)");
    EXPECT_EQ(lab.at("cpu"), "EPYC,+svm");
    EXPECT_EQ(lab.at("cache"), dir.path("cache") + "/lab");
    EXPECT_EQ(lab.at("image"), "not-built");

    dir.write("cache/lab/base.cpio", "");
    dir.write("cache/lab/vmlinuz", "");
    const auto built =
        test::run_process({"bash", kRunner, "--describe"},
                          {{"HVMM_LAB_QEMU", emulator}, {"HVMM_CACHE", dir.path("cache")}});
    EXPECT_EQ(parse_lab_description(built.out).at("image"), "built");
}

TEST(LabRunner, DefaultEmulatorIsQemuOnPath) {
    ScratchDir dir;
    dir.write("bin/qemu-system-x86_64", kVersionOnlyEmulator, true);
    const auto result =
        test::run_process({"bash", kRunner, "--describe"},
                          {{"HVMM_LAB_QEMU", ""}, {"PATH", dir.path("bin") + ":/usr/bin:/bin"}});
    ASSERT_EQ(result.status, 0) << result.err;
    EXPECT_EQ(parse_lab_description(result.out).at("emulator"), dir.path("bin/qemu-system-x86_64"));
}

TEST(LabRunner, MissingEmulatorIsOneLineAndTheLabFailureStatus) {
    ScratchDir dir;
    const std::string script = dir.write("script.sh", "echo never\n");
    const auto result = test::run_process(
        {"bash", kRunner, "exec", script},
        {{"HVMM_LAB_QEMU", dir.path("no-such-qemu")}, {"HVMM_CACHE", dir.path("cache")}});
    EXPECT_EQ(result.status, 125);
    EXPECT_EQ(result.out, "");
    EXPECT_EQ(result.err, "hvmm lab: no emulator to run the lab: " + dir.path("no-such-qemu") +
                              " not found (HVMM_LAB_QEMU names the qemu-system-x86_64 to use)\n");
    EXPECT_FALSE(fs::exists(dir.path("cache"))) << "nothing is built for a lab that cannot run";
}

TEST(LabRunner, DoctorShowsTheLabRunShWouldUse) {
    ScratchDir dir;
    const std::string emulator = dir.write("qemu-fake", kVersionOnlyEmulator, true);
    const auto result = test::run_process(
        {HVMM_BINARY, "doctor"},
        {{"HVMM_LAB_CPUS", "2"}, {"HVMM_LAB_QEMU", emulator}, {"HVMM_CACHE", dir.path("cache")}});
    const std::string expected = "lab: QEMU 10.0.2 (" + emulator +
                                 "), TCG, 2 CPUs, EPYC with SVM, 2048 MiB; image cached in " +
                                 dir.path("cache") + "/lab (not built yet";
    EXPECT_NE(result.out.find("\n" + expected), std::string::npos) << result.out;
}

}  // namespace
}  // namespace hvmm::lab
