#include "vmnet/switch_paths.h"

#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace hvmm::vmnet {
namespace {

constexpr size_t kMaxNameLength = 32;
// sockaddr_un's sun_path holds the path and its terminating NUL.
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un{}.sun_path) - 1;

std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

}  // namespace

SwitchEnvironment current_switch_environment() {
    return SwitchEnvironment{env("XDG_RUNTIME_DIR"), env("XDG_CACHE_HOME"), env("HOME"),
                             static_cast<uint32_t>(::getuid())};
}

Result<void> check_switch_name(std::string_view name) {
    const bool characters_ok = std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    });
    if (name.empty() || name.size() > kMaxNameLength || !characters_ok || name[0] == '.' ||
        name[0] == '-') {
        return fail(
            "bad switch name '{}' (1 to {} letters, digits, '_', '.' or '-', not starting with "
            "'.' or '-')",
            name, kMaxNameLength);
    }
    return {};
}

Result<SwitchPaths> switch_paths(std::string_view name, const SwitchEnvironment& environment) {
    HVMM_TRY_VOID(check_switch_name(name));
    // A relative directory would make the socket depend on the current directory, so two
    // commands run from different places would not find one switch: ignored, as XDG says.
    const auto absolute = [](const std::string& path) { return !path.empty() && path[0] == '/'; };
    std::string cache;
    if (absolute(environment.xdg_cache_home)) {
        cache = environment.xdg_cache_home;
    } else if (absolute(environment.home)) {
        cache = environment.home + "/.cache";
    }
    SwitchPaths paths;
    if (absolute(environment.xdg_runtime_dir)) {
        paths.directory = environment.xdg_runtime_dir + "/hvmm";
    } else if (environment.uid == 0) {
        paths.directory = "/run/hvmm";
    } else if (!cache.empty()) {
        paths.directory = cache + "/hvmm/run";
    } else {
        return fail("no directory for switch sockets: set XDG_RUNTIME_DIR or HOME");
    }
    const std::string base = paths.directory + "/" + std::string(name);
    paths.socket = base + ".sock";
    paths.control_socket = base + ".ctl";
    paths.pid_file = base + ".pid";
    paths.lock_file = base + ".lock";
    paths.log_file = base + ".log";
    paths.leases_file = (cache.empty() ? paths.directory : cache + "/hvmm/switch") + "/" +
                        std::string(name) + ".leases.json";
    if (paths.socket.size() > kMaxSocketPath) {
        return fail(
            "switch socket path {} is longer than a Unix socket allows ({} bytes): use a "
            "shorter name or a shorter XDG_RUNTIME_DIR",
            paths.socket, kMaxSocketPath);
    }
    return paths;
}

}  // namespace hvmm::vmnet
