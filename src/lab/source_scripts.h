// The scripts hvmm runs from its source tree (lab/, bench/): where they are, and running one in
// the foreground with its exit status as ours.
#pragma once

#include <string>

#include <string_view>
#include <vector>
#include "base/error.h"

namespace hvmm::lab {

// The hvmm binary itself, resolved, so a script is handed the very binary that is running.
std::string self_path();

// A script by its path in the source tree (e.g. "lab/run.sh"): from the source tree CMake named,
// else beside an installed binary (BIN/../share/hvmm/...) or in a build tree inside the source
// tree (BIN/../...). Empty when none is there.
std::string find_script(std::string_view relative);

// Runs `bash SCRIPT ARGS...` and waits for it, passing SIGINT and SIGTERM on (the lab's scripts
// stop QEMU and clean up before they exit). Its exit status is ours: 128+N for a signal, 1 when
// it could not be started (one line on stderr, starting with who).
int spawn_and_wait(std::string_view who, const std::string& script,
                   const std::vector<std::string>& args);

// Runs `bash SCRIPT ARGS...` with stdin /dev/null and returns what it wrote on stdout; its
// stderr stays ours. A status other than 0 is an error.
Result<std::string> capture_script_output(const std::string& script,
                                          const std::vector<std::string>& args);

}  // namespace hvmm::lab
