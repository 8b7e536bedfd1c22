// Which named switches run, and the files they leave. A running daemon holds an exclusive
// flock() on NAME.lock for its whole life; the kernel drops it when the process dies, SIGKILL
// included, so "running" is decided by the lock and never by a pid that may have been reused.
// Whoever takes the lock of a switch that is not running owns its name: any socket, control
// socket or pid file still there was left by a dead daemon and is removed.
//
// Any thread; touches only the switch's runtime directory.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "vmnet/switch_paths.h"

namespace hvmm::vmnet {

// Creates `directory` (and missing parents) mode 0700, or checks an existing one is a directory
// of this user and takes group and other access away from it: the directory is the switch's
// access control.
Result<void> make_private_directory(const std::string& directory);

// Takes NAME's lock for a daemon about to start, creating the runtime directory; refuses with
// "switch 'NAME' is already running (pid N)" when another holds it. Removes the files a dead
// daemon left. The lock lasts as long as the returned fd (and its copies across fork()).
Result<UniqueFd> acquire_switch_lock(std::string_view name, const SwitchPaths& paths);

bool switch_running(const SwitchPaths& paths);

// The pid in NAME.pid, if the file holds one.
std::optional<pid_t> read_switch_pid(const SwitchPaths& paths);
// Written to a temporary file and renamed, so a reader never sees half a number.
Result<void> write_switch_pid(const SwitchPaths& paths, pid_t pid);

// The switch's runtime files (socket, control socket, pid file, then the lock file), for a
// daemon that stops (while it still holds the lock) or a switch found dead.
void remove_switch_files(const SwitchPaths& paths);

// When NAME is not running but left files, removes them; true if it did. Takes the lock for
// the time it cleans, so it never races a start.
bool clean_dead_switch(const SwitchPaths& paths);

// Names with any runtime file (.sock, .ctl, .pid, .lock) in `directory`, sorted, once each.
std::vector<std::string> switch_names_in(const std::string& directory);

}  // namespace hvmm::vmnet
