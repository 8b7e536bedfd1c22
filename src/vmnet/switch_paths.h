// Where a named switch keeps its socket, pid file and leases, and which names are allowed.
// A switch's socket is its access control: it lives in a directory only its user can enter
// (the daemon creates it mode 0700), so only that user's VMs can join.
//
//   runtime directory: $XDG_RUNTIME_DIR/hvmm when set (per-user, mode 0700 by systemd);
//                      else /run/hvmm for root; else <cache>/hvmm/run for other users
//   <dir>/NAME.sock (the switch's ports), <dir>/NAME.ctl (its control channel),
//   <dir>/NAME.pid, <dir>/NAME.lock (held by the running daemon), <dir>/NAME.log
//   leases:            <cache>/hvmm/switch/NAME.leases.json (kept across reboots, unlike /run),
//                      or the runtime directory when no cache directory is known
//   <cache>:           $XDG_CACHE_HOME, else $HOME/.cache
//
// Pure: the environment is passed in (current_switch_environment() reads the real one), so
// tests and the daemon agree on paths without touching the filesystem. Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace hvmm::vmnet {

struct SwitchEnvironment {
    std::string xdg_runtime_dir;  // empty when unset
    std::string xdg_cache_home;
    std::string home;
    uint32_t uid = 0;
};

SwitchEnvironment current_switch_environment();

// 1 to 32 of [A-Za-z0-9_.-], not starting with '.' or '-': a file name on every filesystem,
// never a path ("../x") or an option ("-x").
Result<void> check_switch_name(std::string_view name);

struct SwitchPaths {
    std::string directory;  // the runtime directory (created 0700 by the daemon)
    std::string socket;
    std::string control_socket;
    std::string pid_file;
    // flock()ed by the daemon for its whole life: the kernel drops the lock when it dies, even
    // by SIGKILL, so "is NAME running" never depends on a pid that may have been reused.
    std::string lock_file;
    std::string log_file;  // a detached daemon's stderr
    std::string leases_file;
};

// Refuses a bad name, relative environment paths, and a socket path too long for sockaddr_un
// (107 bytes), naming the way out.
Result<SwitchPaths> switch_paths(std::string_view name, const SwitchEnvironment& environment);

}  // namespace hvmm::vmnet
