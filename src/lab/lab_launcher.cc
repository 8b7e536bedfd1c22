#include "lab/lab_launcher.h"

#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include "lab/source_scripts.h"

namespace hvmm::lab {
namespace {

int run_lab_script(const std::vector<std::string>& args) {
    const std::string runner = find_script("lab/run.sh");
    if (runner.empty()) {
        fmt::print(stderr,
                   "hvmm lab: cannot find lab/run.sh (looked in the source tree and beside {})\n",
                   self_path());
        return 1;
    }
    return spawn_and_wait("hvmm lab", runner, args);
}

int usage() {
    fmt::print(stderr,
               "usage: hvmm lab exec [--out DIR] [--with PATH]... [--timeout S] [--mem MB] SCRIPT "
               "[ARG...]\n"
               "       hvmm lab run ARG...   (hvmm run ARG... inside the lab)\n"
               "       hvmm lab build\n");
    return 2;
}

}  // namespace

Result<LabDescription> describe_lab() {
    const std::string runner = find_script("lab/run.sh");
    if (runner.empty()) {
        return fail("cannot find lab/run.sh (looked in the source tree and beside {})",
                    self_path());
    }
    return parse_lab_description(HVMM_TRY(capture_script_output(runner, {"--describe"})));
}

int run_in_lab(int argc, char** argv) {
    std::vector<std::string> args{"--hvmm", self_path(), "hvmm"};
    for (int i = 1; i < argc; ++i) {
        args.emplace_back(argv[i]);
    }
    return run_lab_script(args);
}

int lab_command(int argc, char** argv) {
    if (argc < 1) {
        return usage();
    }
    const std::string_view command = argv[0];
    if (command == "run") {
        std::vector<std::string> args{"--hvmm", self_path(), "hvmm", "run"};
        for (int i = 1; i < argc; ++i) {
            args.emplace_back(argv[i]);
        }
        return run_lab_script(args);
    }
    if (command == "exec") {
        std::vector<std::string> args{"--hvmm", self_path()};
        int i = 1;
        // The runner's own options come before the script; everything after it is the script's.
        for (; i < argc && std::string_view(argv[i]).starts_with("--"); ++i) {
            const std::string_view option = argv[i];
            if (option != "--out" && option != "--with" && option != "--timeout" &&
                option != "--mem") {
                fmt::print(stderr, "hvmm lab: unknown exec option {}\n", option);
                return usage();
            }
            if (i + 1 >= argc) {
                fmt::print(stderr, "hvmm lab: {} needs a value\n", option);
                return usage();
            }
            args.emplace_back(argv[i]);
            args.emplace_back(argv[++i]);
        }
        if (i >= argc) {
            return usage();
        }
        args.emplace_back("exec");
        for (; i < argc; ++i) {
            args.emplace_back(argv[i]);
        }
        return run_lab_script(args);
    }
    if (command == "build") {
        const std::string builder = find_script("lab/build-lab.sh");
        if (builder.empty()) {
            fmt::print(stderr, "hvmm lab: cannot find lab/build-lab.sh\n");
            return 1;
        }
        return spawn_and_wait("hvmm lab", builder, {});
    }
    fmt::print(stderr, "hvmm lab: unknown command {}\n", command);
    return usage();
}

}  // namespace hvmm::lab
