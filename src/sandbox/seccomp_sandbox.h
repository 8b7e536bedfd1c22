// The second wall behind the device models: once set-up is over, each thread of hvmm installs a
// seccomp-bpf filter that allows only the system calls of its role (syscall_allowlist.h). A call
// outside the list stops hvmm at once: one line on stderr naming the thread's role and the call,
// and exit status kExitStatusSandboxViolation (docs/CONTRACTS.md).
//
// Process-wide: prepare() once, before any thread but the first exists; then each thread calls
// enter(role) for itself. Without prepare() (the unit and KVM tests, `--sandbox off`) enter() does
// nothing.
#pragma once

#include "base/error.h"
#include "sandbox/syscall_allowlist.h"
#include "sandbox/thread_role.h"

namespace hvmm::sandbox {

inline constexpr int kExitStatusSandboxViolation = 122;

// Turns the sandbox on for this process with what its run needs; installs the handler that
// reports a forbidden call.
Result<void> prepare(const SandboxNeeds& needs);
bool enabled();

// Confines the calling thread's file access to needs.filesystem (Landlock; a kernel without it is
// said once, as a warning), then installs its filter for role (and no_new_privs, which both
// require). Irreversible for the thread and for threads it creates afterwards.
Result<void> enter(ThreadRole role);

// For the tests of the sandbox itself: when the environment's HVMM_SANDBOX_SELFTEST names this
// role, enter() makes a call no role allows (ptrace) right after installing the filter, so a test
// sees that role's thread stopped. Harmless with the sandbox off (ptrace of nothing fails).
// ROLE:read:PATH instead opens PATH read-only from that thread (an openat its filter allows in a
// run with a user network, and the switch's) and ends the process at once with one line saying
// whether the open was refused: status 0 if it was, 1 if the file could be read.
inline constexpr const char* kSelftestVariable = "HVMM_SANDBOX_SELFTEST";

}  // namespace hvmm::sandbox
