// hvmm's version line: the project's version and the git revision the binary was built from.
#pragma once

#include <string>
#include <string_view>

namespace hvmm::cli {

// "hvmm VERSION (git REVISION)". The revision is a short commit id, with "-dirty" when tracked
// files had uncommitted changes at build time, or "unknown" for a build outside git.
std::string format_version_line(std::string_view version, std::string_view git_revision);

// This binary's line: `hvmm --version`, `hvmm version` and the top of the usage text.
std::string version_line();

}  // namespace hvmm::cli
