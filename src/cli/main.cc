// Entry point of the hvmm command; the subcommands live beside it in src/cli/.
#include <cstdio>
#include <cstring>
#include <string_view>

#include <fmt/core.h>

#include "base/log.h"
#include "cli/commands.h"
#include "cli/switch_command.h"
#include "cli/version.h"
#include "lab/lab_launcher.h"

#if defined(__SANITIZE_ADDRESS__)
#define HVMM_ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HVMM_ASAN_BUILD 1
#endif
#endif

#ifdef HVMM_ASAN_BUILD
// The ASan build of the command (the sanitizer suite runs it from the unit tests): LeakSanitizer's
// check at exit stops the process's threads with ptrace from a clone, which the sandbox forbids
// every thread, so a sandboxed hvmm would end in a sandbox violation instead of its own status.
// Leaks are still checked in the unit tests' own process, which is never sandboxed.
extern "C" const char* __asan_default_options() {
    return "detect_leaks=0";
}
#endif

namespace {

constexpr std::string_view kUsage =
    "usage: hvmm run [--kernel PATH] [--initrd PATH] [--append STR] [--mem MiB] [--cpus N]\n"
    "                [--run 'shell command'] [--nic SPEC]... [--nic-opt LIST] [--stats]\n"
    "                [--stats-json FILE] [--sandbox on|off] [--user NAME] [-v]\n"
    "       hvmm switch start|list|status|stop ...   (host-only networks)\n"
    "       hvmm doctor\n"
    "       hvmm sandbox                             (each thread's allowed system calls)\n"
    "       hvmm lab exec|run|build ...\n"
    "       hvmm bench paper|tx-pairs|vmnet|boot|lab-levers [ARG...]   (benchmarks, in the lab)\n"
    "       hvmm --version\n";

// The usage text starts with the version line, so a pasted usage says which hvmm it was.
void print_usage(std::FILE* out) {
    fmt::print(out, "{}\n{}", hvmm::cli::version_line(), kUsage);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_usage(stderr);
        return 1;
    }
    const std::string_view command = argv[1];
    if (command == "run") {
        return hvmm::cli::run_command(argc - 1, argv + 1, argc, argv);
    }
    if (command == "doctor") {
        return hvmm::cli::doctor_command();
    }
    if (command == "sandbox") {
        return hvmm::cli::sandbox_command();
    }
    if (command == "switch") {
        return hvmm::cli::switch_command(argc - 1, argv + 1);
    }
    if (command == "lab") {
        return hvmm::lab::lab_command(argc - 2, argv + 2);
    }
    if (command == "bench") {
        return hvmm::cli::bench_command(argc - 2, argv + 2);
    }
    if (command == "--version" || command == "version") {
        fmt::print("{}\n", hvmm::cli::version_line());
        return 0;
    }
    if (command == "-h" || command == "--help" || command == "help") {
        print_usage(stdout);
        return 0;
    }
    hvmm::log::error(
        "unknown command '{}' (try: run, switch, sandbox, doctor, lab, bench, --version)", command);
    return 1;
}
