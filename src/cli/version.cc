#include "cli/version.h"

#include <fmt/core.h>

// Generated at build time by cmake/git_revision.cmake; only this file includes it, so a new
// commit recompiles this file alone.
#include "hvmm_git_revision.h"

namespace hvmm::cli {

std::string format_version_line(std::string_view version, std::string_view git_revision) {
    return fmt::format("hvmm {} (git {})", version, git_revision);
}

std::string version_line() {
    return format_version_line(HVMM_VERSION, HVMM_GIT_REVISION);
}

}  // namespace hvmm::cli
