// A child process per sandbox case: a seccomp filter or a Landlock domain cannot be taken off a
// thread, so each case forks, enters the sandbox there and reports through its exit status and
// stderr.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "sandbox/seccomp_sandbox.h"
#include "sandbox/syscall_allowlist.h"

namespace hvmm::sandbox {

struct ChildResult {
    int status = -1;  // exit status, or 128 + signal
    std::string err;
};

// Runs body in a forked child, its stderr captured; the child exits 0 when body returns.
inline ChildResult run_in_child(const std::function<void()>& body) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0)
        return {};
    const pid_t child = ::fork();
    if (child == 0) {
        ::dup2(pipe_fds[1], STDERR_FILENO);
        ::close(pipe_fds[0]);
        body();
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    ChildResult result;
    char buffer[512];
    ssize_t n;
    while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) {
        result.err.append(buffer, static_cast<size_t>(n));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

// The same with the sandbox prepared for needs and the role entered first (status 99 if that
// failed).
inline ChildResult run_sandboxed(ThreadRole role, const SandboxNeeds& needs,
                                 const std::function<void()>& body) {
    return run_in_child([&] {
        if (!prepare(needs) || !enter(role))
            ::_exit(99);
        body();
    });
}

}  // namespace hvmm::sandbox
