// hvmm's subcommands. Each returns the process exit status.
#pragma once

namespace hvmm::cli {

// `hvmm run ...` (argv[0] == "run"); full_argc/full_argv are the whole command line, which a lab
// relaunch repeats.
int run_command(int argc, char** argv, int full_argc, char** full_argv);
// `hvmm doctor`: what /dev/kvm offers and whether this host runs ordinary guests at speed.
int doctor_command();
int sandbox_command();
// `hvmm bench NAME [ARG...]` (argv[0] == NAME): bench/NAME.sh from the source tree, measuring
// this hvmm. 2 for an unknown NAME.
int bench_command(int argc, char** argv);

}  // namespace hvmm::cli
