// The file half of the second wall. seccomp sees a path only as a pointer, so a role that may
// open files at all (libslirp's read-only opens of /etc/resolv.conf, the switch's leases file)
// could open any file its user can: a compromised device model could read the user's keys and
// send them out through the NAT. Landlock (Linux 5.13+) confines the calling thread to the paths
// its role names, whatever its system calls: everything else is out of reach for reading,
// writing, making or removing files.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace hvmm::sandbox {

struct FilesystemAccess {
    std::vector<std::string> readable_files;  // each opened read-only, nothing more
    // Files in each (and below) opened read-only, directories listed. (Under /proc, Landlock
    // itself keeps the files guarded by ptrace's checks, environ and mem, of processes outside
    // the sandbox closed.)
    std::vector<std::string> readable_directories;
    // Files in each (and below) may be made, read, written, truncated, renamed within it and
    // removed; sockets made. Nothing is executable anywhere.
    std::vector<std::string> writable_directories;
    // Files in each (and below) may be removed, nothing more: a socket file hvmm bound.
    std::vector<std::string> removable_directories;
};

// What libslirp reads (the host's DNS servers, forwarded to the guest) from whichever thread hands
// it a frame.
inline constexpr const char* kResolvConf = "/etc/resolv.conf";

// Confines the calling thread, and the threads it creates afterwards, to `access`. Needs
// no_new_privs (or CAP_SYS_ADMIN). Returns the Landlock ABI version applied, or 0 when the kernel
// has none (not built, or not in its lsm= list): then nothing is confined and the caller says so.
// A path that does not exist is skipped (a run without a resolv.conf has no DNS to forward).
Result<int> confine_filesystem(const FilesystemAccess& access);

}  // namespace hvmm::sandbox
