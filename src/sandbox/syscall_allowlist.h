// The system calls each thread role may make once set-up is over, as data: a rule allows one
// call, optionally only when its arguments match (an ioctl's request number, a socket's family,
// an open that cannot write). Rules for one call are alternatives; conditions in a rule all hold.
//
// What a role needs depends on the run: libslirp (net=user, a switch's NAT) opens sockets for
// the guest's connections and reads /etc/resolv.conf from whichever thread hands it a frame;
// vhost-net is set up from the vCPU that writes DRIVER_OK. A run without them does not get them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sandbox/filesystem_confinement.h"
#include "sandbox/thread_role.h"

namespace hvmm::sandbox {

// What the run uses, beyond what every run does.
struct SandboxNeeds {
    bool user_network = false;  // libslirp: net=user, or a switch with --nat
    bool vhost = false;         // /dev/vhost-net
    bool tap = false;           // a TAP backend or uplink
    // The paths the run's threads may still reach once set-up is over (Landlock).
    FilesystemAccess filesystem;
};

struct ArgCondition {
    unsigned index = 0;     // argument 0-5
    uint64_t mask = ~0ull;  // compared: (argument & mask) == value
    uint64_t value = 0;
};

struct SyscallRule {
    long number = 0;
    std::vector<ArgCondition> conditions;  // all must hold; none: the call is allowed outright
};

std::vector<SyscallRule> allowlist(ThreadRole role, const SandboxNeeds& needs);

// The distinct calls of a role's list by name, sorted (for `hvmm sandbox` and the README).
std::vector<std::string> allowed_call_names(ThreadRole role, const SandboxNeeds& needs);

}  // namespace hvmm::sandbox
