#include "sandbox/thread_role.h"

namespace hvmm::sandbox {

std::string_view role_name(ThreadRole role) {
    switch (role) {
        case ThreadRole::kMain:
            return "main";
        case ThreadRole::kIo:
            return "io";
        case ThreadRole::kVcpu:
            return "vcpu";
        case ThreadRole::kConsole:
            return "console";
        case ThreadRole::kSwitch:
            return "switch";
    }
    return "unknown";
}

std::optional<ThreadRole> parse_role(std::string_view name) {
    for (const ThreadRole role : kAllRoles) {
        if (role_name(role) == name)
            return role;
    }
    return std::nullopt;
}

}  // namespace hvmm::sandbox
