// `hvmm bench NAME [ARG...]`: the benchmarks in the source tree's bench/ (each a script that
// boots the lab, runs hvmm and its QEMU anchors there and prints figures), run as
// bench/NAME.sh ARG... with this very hvmm binary as the one measured (HVMM_BIN) unless the
// environment names another. Their exit status is ours.
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "cli/commands.h"
#include "lab/source_scripts.h"

namespace hvmm::cli {
namespace {

struct Benchmark {
    std::string_view name;
    std::string_view what;
};

constexpr Benchmark kBenchmarks[] = {
    {"paper",
     "[SECS]  the paper's throughput figure: --nic-opt configs, virtio, vhost, QEMU anchors"},
    {"tx-pairs",
     "[PAIRS] [SECS] [CONFIG]  hvmm and QEMU alternating in one lab boot, ratio of medians"},
    {"vmnet", "[N] [SECS] [ROW...]  the networks without root: NAT, VM to VM, idle wakeups"},
    {"boot", "[REPS]  time to the guest's /init, hvmm against QEMU 7.2 and 10"},
    {"lab-levers", "[SECS] [LEVER...]  what ties the nested guest's network to the lab"},
};

void print_usage(std::FILE* out) {
    fmt::print(out, "usage: hvmm bench NAME [ARG...]   (runs bench/NAME.sh in the lab)\n");
    for (const Benchmark& benchmark : kBenchmarks) {
        fmt::print(out, "  {:<11} {}\n", benchmark.name, benchmark.what);
    }
    fmt::print(out, "env: HVMM_BIN (default: this hvmm), BENCH_* as each script's header says\n");
}

}  // namespace

int bench_command(int argc, char** argv) {
    if (argc < 1) {
        print_usage(stderr);
        return 2;
    }
    const std::string_view name = argv[0];
    if (name == "-h" || name == "--help" || name == "help") {
        print_usage(stdout);
        return 0;
    }
    bool known = false;
    for (const Benchmark& benchmark : kBenchmarks) {
        known = known || benchmark.name == name;
    }
    if (!known) {
        fmt::print(
            stderr,
            "hvmm bench: unknown benchmark '{}' (try: paper, tx-pairs, vmnet, boot, lab-levers)\n",
            name);
        return 2;
    }
    const std::string relative = fmt::format("bench/{}.sh", name);
    const std::string script = lab::find_script(relative);
    if (script.empty()) {
        fmt::print(stderr, "hvmm bench: cannot find {} (looked in the source tree and beside {})\n",
                   relative, lab::self_path());
        return 1;
    }
    // The binary measured is the one the user ran, not whatever build tree the script prefers.
    if (std::getenv("HVMM_BIN") == nullptr) {
        ::setenv("HVMM_BIN", lab::self_path().c_str(), 1);
    }
    return lab::spawn_and_wait("hvmm bench", script,
                               std::vector<std::string>(argv + 1, argv + argc));
}

}  // namespace hvmm::cli
