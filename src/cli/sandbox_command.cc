// `hvmm sandbox`: the system calls each thread role may make under the sandbox, for an audit or
// the README (the lists themselves: src/sandbox/syscall_allowlist.cc).
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "cli/commands.h"
#include "sandbox/filesystem_confinement.h"
#include "sandbox/syscall_allowlist.h"
#include "sandbox/thread_role.h"

namespace hvmm::cli {

int sandbox_command() {
    using namespace sandbox;
    const SandboxNeeds everything{.user_network = true, .vhost = true, .tap = true};
    fmt::print(
        "System calls each hvmm thread may make once set-up is over (hvmm run, hvmm switch).\n"
        "Marked *: only in a run with a user network (libslirp: net=user, switch --nat).\n"
        "ioctl: only the request numbers of the role's devices (KVM, TAP, vhost-net, tty).\n\n");
    for (const ThreadRole role : kAllRoles) {
        const auto always = allowed_call_names(role, {.vhost = true, .tap = true});
        const auto all = allowed_call_names(role, everything);
        fmt::print("{} ({} calls, {} without a user network):\n ", role_name(role), all.size(),
                   always.size());
        size_t column = 1;
        for (const std::string& name : all) {
            const bool conditional = !std::binary_search(always.begin(), always.end(), name);
            const std::string item = " " + name + (conditional ? "*" : "");
            if (column + item.size() > 96) {
                fmt::print("\n ");
                column = 1;
            }
            fmt::print("{}", item);
            column += item.size();
        }
        fmt::print("\n\n");
    }
    // The paths come from the run's options (cli/run_command.cc, cli/switch_start.cc).
    fmt::print(
        "Files (Landlock, where the kernel has it): no thread reaches any, but\n"
        "  hvmm run:    {} (read) with a user network; in the directory of a socket file it\n"
        "               bound (stream-listen, dgram LOCAL), files removed: that one, at the end\n"
        "  hvmm switch: /proc (read: a port's peer name); its runtime and leases directories\n"
        "               (files made, written, renamed, removed); {} (read) with --nat\n",
        kResolvConf, kResolvConf);
    return 0;
}

}  // namespace hvmm::cli
