// lab/run.sh's parts that need no lab boot, and hvmm's use of them: --describe (what `hvmm
// doctor` shows), a missing emulator, and, with a stand-in emulator (HVMM_LAB_QEMU) and a
// stand-in cached lab (HVMM_LAB_NO_BUILD), what a run through the lab prints where.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "boot/synthetic_bzimage.h"
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

TEST(LabRunner, DefaultEmulatorIsTheOneBuildLabInstalledInTheCache) {
    ScratchDir dir;
    // A QEMU on PATH is not the default: the one lab/build-lab.sh installs in a root of its own
    // (trixie-backports' QEMU) and links as lab-emulator in the cache is.
    dir.write("bin/qemu-system-x86_64", kVersionOnlyEmulator, true);
    dir.write("cache/lab-emulator/qemu-system-x86_64", kVersionOnlyEmulator, true);
    const auto result = test::run_process({"bash", kRunner, "--describe"},
                                          {{"HVMM_LAB_QEMU", ""},
                                           {"HVMM_LAB_CPUS", ""},
                                           {"HVMM_CACHE", dir.path("cache")},
                                           {"PATH", dir.path("bin") + ":/usr/bin:/bin"}});
    ASSERT_EQ(result.status, 0) << result.err;
    const auto lab = parse_lab_description(result.out);
    EXPECT_EQ(lab.at("emulator"), dir.path("cache/lab-emulator/qemu-system-x86_64"));
    // Two lab CPUs where the host has two: the VMMs on one, the traffic peer on the other.
    cpu_set_t usable;
    ASSERT_EQ(::sched_getaffinity(0, sizeof usable, &usable), 0);
    const int host_cpus = CPU_COUNT(&usable);  // what nproc counts
    EXPECT_EQ(lab.at("cpus"), host_cpus >= 2 ? "2" : "1");
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

// Plays the lab as lab/init drives it: the three LAB-PROGRESS milestones on the control port (the
// -serial file:.../control argument), a line on the console (its stdout), then the status. It
// records its arguments beside itself. With STANDIN_CONSOLE naming a file, that file's bytes are
// its console output instead. With STANDIN_FAIL set it fails as QEMU would, at once; with
// STANDIN_HANG set it stops after the first milestone, a lab that hangs while it boots; with
// STANDIN_STALL set it beats once as lab/init does when the command starts, then never again (a
// lab whose CPUs stay halted); with STANDIN_BEATS set it beats every second for 9 s first.
const char* kStandInLab =
    "#!/bin/bash\n"
    "[[ $1 == --version ]] && { echo 'QEMU emulator version 10.0.2 (stand-in)'; exit 0; }\n"
    "printf '%s\\n' \"$@\" >\"$(dirname \"$0\")/args\"\n"
    "[[ -n ${STANDIN_FAIL:-} ]] && { sleep 0.3; echo 'qemu: stand-in failure' >&2; exit 1; }\n"
    "for arg; do case $arg in file:*/control) control=${arg#file:} ;; esac; done\n"
    "[[ -n ${STANDIN_HANG:-} ]] && { echo 'LAB-PROGRESS kernel-up' >>\"$control\"; exec sleep 60; "
    "}\n"
    "[[ -n ${STANDIN_STALL:-} ]] && { echo 'LAB-PROGRESS command-starting' >>\"$control\"; "
    "echo 'LAB-BEAT 4.5' >>\"$control\"; exec sleep 60; }\n"
    "[[ -n ${STANDIN_BEATS:-} ]] && for i in 1 2 3 4 5 6 7 8 9; do echo \"LAB-BEAT $i\" "
    ">>\"$control\"; sleep 1; done\n"
    "for phase in kernel-up lab-up command-starting; do\n"
    "    sleep 0.3; echo \"LAB-PROGRESS $phase\" >>\"$control\"\n"
    "done\n"
    "if [[ -n ${STANDIN_CONSOLE:-} ]]; then cat \"$STANDIN_CONSOLE\"; else printf 'guest console "
    "line\\r\\n'; fi\n"
    "echo 'LAB-STATUS 7' >>\"$control\"\n";

// A stand-in lab: the emulator above and an empty cached lab that run.sh takes as it is.
struct StandInLab {
    ScratchDir dir;
    std::string emulator = dir.write("qemu-standin", kStandInLab, true);
    std::map<std::string, std::string> environment = {
        {"HVMM_LAB_QEMU", emulator}, {"HVMM_CACHE", dir.path("cache")},
        {"HVMM_LAB_NO_BUILD", "1"},  {"HVMM_LAB_CPUS", "2"},
        {"HVMM_LAB_TIMEOUT", "60"},  {"HVMM_LAB", "always"},
        {"HVMM_LAB_LOG", ""},        {"HVMM_LAB_OUT", ""},
    };
    StandInLab() {
        dir.write("cache/lab/base.cpio", "");
        dir.write("cache/lab/vmlinuz", "");
    }
    std::string args() const { return test::read_whole_file(dir.path("args")); }
};

// Processes whose command line names `needle`, other than ourselves.
int processes_naming(const std::string& needle) {
    int count = 0;
    for (const auto& entry : fs::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos ||
            name == std::to_string(::getpid())) {
            continue;
        }
        std::string cmdline = test::read_whole_file(entry.path().string() + "/cmdline");
        if (cmdline.find(needle) != std::string::npos)
            ++count;
    }
    return count;
}

// `hvmm run --run true` with a synthetic kernel, for runs that never boot it.
std::vector<std::string> hvmm_run_command(const ScratchDir& dir) {
    const std::vector<uint8_t> payload(0x400, 0x90);
    const auto image = boot::make_synthetic_bzimage(payload);
    const std::string kernel = dir.write("bzImage", std::string(image.begin(), image.end()));
    const std::string initrd = dir.write("initrd", "not really an initrd");
    return {HVMM_BINARY, "run", "--kernel", kernel, "--initrd", initrd, "--run", "true"};
}

const std::string kReasonLine =
    "hvmm: this run goes through the lab: HVMM_LAB=always: every run goes through the lab";

TEST(LabRunner, ALabWhoseHeartbeatStopsIsAStalledLabAndItsEvidenceIsKept) {
    StandInLab lab;
    auto environment = lab.environment;
    environment["STANDIN_STALL"] = "1";
    environment["HVMM_LAB_STALL"] = "3";
    const auto start = std::chrono::steady_clock::now();
    const auto result = test::run_process(hvmm_run_command(lab.dir), environment);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(result.status, 125);
    EXPECT_NE(result.err.find("hvmm lab: the lab stalled: no heartbeat from inside it for 3s"),
              std::string::npos) << result.err;
    EXPECT_LT(seconds, 30) << "the stall was not caught before the stand-in's own 60 s";
    EXPECT_TRUE(fs::exists(lab.dir.path("cache/lab/stalls"))) << "no evidence kept";
    EXPECT_EQ(processes_naming(lab.emulator), 0) << "the stalled emulator was left running";
}

TEST(LabRunner, ALabThatKeepsBeatingIsNotTakenForStalled) {
    StandInLab lab;
    auto environment = lab.environment;
    environment["STANDIN_BEATS"] = "1";
    environment["HVMM_LAB_STALL"] = "3";
    const auto result = test::run_process(hvmm_run_command(lab.dir), environment);
    EXPECT_EQ(result.status, 7) << result.err;  // the stand-in lab's own status, after 9 s of beats
    EXPECT_EQ(result.err, kReasonLine + "\n");
}

TEST(LabRunner, RunThroughTheLabWithoutATerminalAddsOnlyTheReasonLine) {
    StandInLab lab;
    const auto result = test::run_process(hvmm_run_command(lab.dir), lab.environment);
    EXPECT_EQ(result.status, 7);  // the status the lab reported
    EXPECT_EQ(result.out, "guest console line\r\n");
    EXPECT_EQ(result.err, kReasonLine + "\n");
    // The emulator and CPU count came from the environment, through run.sh.
    EXPECT_NE(lab.args().find("\n-smp\n2\n-cpu\nEPYC,+svm\n"), std::string::npos) << lab.args();
}

// Output already in a redirected stdout file stays; the console's is appended after it.
TEST(LabRunner, ConsoleOutputIsAppendedToARedirectedStdout) {
    StandInLab lab;
    const std::string script = lab.dir.write("script.sh", "echo never run here\n");
    const auto result = test::run_process(
        {"bash", "-c", "echo before the lab; exec bash \"$0\" exec \"$1\"", kRunner, script},
        lab.environment);
    EXPECT_EQ(result.status, 7);
    EXPECT_EQ(result.out, "before the lab\nguest console line\r\n");
}

struct TerminalRun {
    int status = -1;
    std::string screen;  // everything written to the terminal, stdout and stderr alike
    std::chrono::steady_clock::time_point interrupted_after{};  // when ^C was typed
    std::chrono::steady_clock::time_point ended{};
};

// Runs argv on a new pseudo-terminal (its stdin, stdout and stderr), as a user at a terminal;
// with `stdout_file`, stdout goes to that file instead (`command > FILE` at a terminal). With
// `interrupt_at`, the user types ^C once the screen shows that text.
TerminalRun run_on_terminal(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& environment,
                            const std::string& stdout_file = "", std::string interrupt_at = "") {
    TerminalRun run;
    int terminal = -1;
    const pid_t pid = ::forkpty(&terminal, nullptr, nullptr, nullptr);
    if (pid == 0) {
        for (const auto& [name, value] : environment) {
            if (value.empty()) {
                ::unsetenv(name.c_str());
            } else {
                ::setenv(name.c_str(), value.c_str(), 1);
            }
        }
        if (!stdout_file.empty()) {
            ::dup2(::open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), STDOUT_FILENO);
        }
        std::vector<char*> args;
        for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    if (pid < 0)
        return run;
    // Our own hold on the terminal: the master then never reads EIO, which on Linux can come
    // before the last of the output, when the run's last process closes it.
    const int hold = ::open(::ptsname(terminal), O_RDWR | O_NOCTTY);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    char buffer[4096];
    int status = 0;
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            run.ended = std::chrono::steady_clock::now();
            if (WIFEXITED(status))
                run.status = WEXITSTATUS(status);
        }
        pollfd readable{terminal, POLLIN, 0};
        if (::poll(&readable, 1, 100) <= 0) {
            if (exited)
                break;  // gone, and everything it wrote has been read
            continue;
        }
        const ssize_t n = ::read(terminal, buffer, sizeof(buffer));
        if (n <= 0)
            break;
        run.screen.append(buffer, static_cast<size_t>(n));
        if (!interrupt_at.empty() && run.screen.find(interrupt_at) != std::string::npos) {
            [[maybe_unused]] auto written = ::write(terminal, "\x03", 1);
            run.interrupted_after = std::chrono::steady_clock::now();
            interrupt_at.clear();
        }
    }
    ::close(hold);
    ::close(terminal);
    if (!exited && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
        run.status = WEXITSTATUS(status);
        run.ended = std::chrono::steady_clock::now();
    }
    return run;
}

TEST(LabRunner, OnATerminalProgressIsShownAndFinishedBeforeTheConsoleSpeaks) {
    StandInLab lab;
    const auto run = run_on_terminal(hvmm_run_command(lab.dir), lab.environment);
    EXPECT_EQ(run.status, 7);
    const std::string& screen = run.screen;
    EXPECT_EQ(screen.find(kReasonLine + "\r\r\n"), 0u)
        << screen;  // hvmm's \r\n, the tty's \n -> \r\n
    const std::string frame = "\r\x1b[Khvmm lab: ";
    const size_t booting = screen.find(frame + "booting the lab (QEMU TCG, 2 CPUs) ... ");
    const size_t kernel_up = screen.find(frame + "lab kernel up, loading KVM ... ");
    const size_t lab_up = screen.find(frame + "lab up in ");
    const size_t console = screen.find("guest console line");
    ASSERT_NE(booting, std::string::npos) << screen;
    ASSERT_NE(kernel_up, std::string::npos) << screen;
    ASSERT_NE(lab_up, std::string::npos) << screen;
    ASSERT_NE(console, std::string::npos) << screen;
    EXPECT_LT(booting, kernel_up);
    EXPECT_LT(kernel_up, lab_up);
    EXPECT_LT(lab_up, console);
    // The last frame says the guest is booting and was finished with a newline before the
    // console's first byte; nothing was drawn after it.
    const size_t last_frame = screen.rfind(frame, console);
    const std::string finished = screen.substr(last_frame, console - last_frame);
    EXPECT_NE(finished.find("; hvmm started, the guest is booting ... "), std::string::npos)
        << finished;
    EXPECT_EQ(finished.find('\n'), finished.size() - 1) << finished;
    EXPECT_EQ(screen.find("\x1b[K", console), std::string::npos) << screen.substr(console);
    EXPECT_EQ(screen.substr(console), "guest console line\r\r\n")
        << "the console's bytes, with the terminal's own \\n -> \\r\\n";
    EXPECT_EQ(processes_naming(lab.dir.path()), 0) << "a process of the run is still running";
}

// With the status line on the terminal, the console's output takes another path (through the
// process that draws the line); every byte value still arrives unchanged and in order.
TEST(LabRunner, OnATerminalTheConsoleBytesPassUnchanged) {
    StandInLab lab;
    std::string bytes;
    for (int round = 0; round < 64; ++round) {
        for (int value = 0; value < 256; ++value) bytes.push_back(static_cast<char>(value));
    }
    auto environment = lab.environment;
    environment["STANDIN_CONSOLE"] = lab.dir.write("console.bin", bytes);
    const std::string script = lab.dir.write("script.sh", "echo never run here\n");
    const auto run =
        run_on_terminal({"bash", kRunner, "exec", script}, environment, lab.dir.path("stdout"));
    EXPECT_EQ(run.status, 7);
    EXPECT_NE(run.screen.find("hvmm lab: lab up in "), std::string::npos) << run.screen;
    EXPECT_TRUE(test::read_whole_file(lab.dir.path("stdout")) == bytes)
        << "the console's bytes changed on their way";
}

// ^C while the lab boots: the run ends at once with 130, the status line stops, nothing is left.
TEST(LabRunner, OnATerminalInterruptingTheBootEndsTheRunAndTheLine) {
    StandInLab lab;
    auto environment = lab.environment;
    environment["STANDIN_HANG"] = "1";
    const std::string script = lab.dir.write("script.sh", "echo never run here\n");
    const auto run = run_on_terminal({"bash", kRunner, "exec", script}, environment, "",
                                     "lab kernel up, loading KVM ... ");
    EXPECT_EQ(run.status, 130);
    EXPECT_LT(run.ended - run.interrupted_after, std::chrono::seconds(5)) << run.screen;
    const size_t interrupt = run.screen.find("^C");
    ASSERT_NE(interrupt, std::string::npos) << run.screen;
    // Not drawn again. (Whether its clearing shows is up to the terminal: at ^C it discards the
    // output still queued, which may include what the signal's handlers wrote at once.)
    EXPECT_EQ(run.screen.find("hvmm lab: lab", interrupt), std::string::npos)
        << "the line was drawn again after ^C: " << run.screen.substr(interrupt);
    EXPECT_EQ(processes_naming(lab.dir.path()), 0) << "a process of the run is still running";
}

TEST(LabRunner, OnATerminalALabThatFailsEarlyClearsTheStatusLineBeforeSayingSo) {
    StandInLab lab;
    const std::string script = lab.dir.write("script.sh", "echo never run here\n");
    auto environment = lab.environment;
    environment["STANDIN_FAIL"] = "1";
    const auto run = run_on_terminal({"bash", kRunner, "exec", script}, environment);
    EXPECT_EQ(run.status, 125);
    EXPECT_NE(run.screen.find("\r\x1b[Khvmm lab: QEMU failed (status 1): qemu: stand-in failure"),
              std::string::npos)
        << run.screen;
    EXPECT_EQ(processes_naming(lab.dir.path()), 0) << "a process of the run is still running";
}

}  // namespace
}  // namespace hvmm::lab
