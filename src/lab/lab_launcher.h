// Runs hvmm commands inside the nested-SVM lab by spawning lab/run.sh (see that script for the
// lab's behaviour: raw stdio, exit status passed through, output files brought back).
#pragma once

#include "base/error.h"
#include "lab/lab_description.h"

namespace hvmm::lab {

// The lab `hvmm run` would use here, from `lab/run.sh --describe` (the script's own settings and
// HVMM_LAB_* in the environment); boots nothing.
Result<LabDescription> describe_lab();

// Re-runs this very command line (argv[0] is the hvmm binary, argv[1] the subcommand, e.g.
// "run") inside the lab and returns its exit status: the inner hvmm's, or 124 (lab timed out),
// 125 (lab failed), 130/143 (interrupted), 1 (the lab could not be started; one line on stderr).
int run_in_lab(int argc, char** argv);

// `hvmm lab ...`: argv holds what follows "lab" (argv[0] is the subcommand).
//   exec [--out DIR] [--with PATH]... [--timeout S] [--mem MB] SCRIPT [ARG...]
//   run ARG...    same as `hvmm run ARG...`, but always through the lab
//   build         build (or check) the cached default guest image and lab
// Returns the exit status as run_in_lab does; 2 for a usage error.
int lab_command(int argc, char** argv);

}  // namespace hvmm::lab
