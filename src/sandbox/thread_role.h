// What a thread of hvmm is for, as far as the sandbox is concerned: each role has its own
// allowlist of system calls (syscall_allowlist.h), installed by the thread itself once set-up is
// over (seccomp filters belong to threads, and a thread inherits its creator's at creation).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hvmm::sandbox {

enum class ThreadRole : uint8_t {
    kMain,     // `hvmm run`'s first thread once the VM runs: waits, then tears the VM down
    kIo,       // the event loop: backends, timers, interrupts, the console's input
    kVcpu,     // KVM_RUN and the exits it returns (device models, a NIC's transmit)
    kConsole,  // the console's writer: the guest's output to stdout
    kSwitch,   // `hvmm switch`'s daemon (one thread: its event loop)
};

inline constexpr std::array kAllRoles{ThreadRole::kMain, ThreadRole::kIo, ThreadRole::kVcpu,
                                      ThreadRole::kConsole, ThreadRole::kSwitch};

std::string_view role_name(ThreadRole role);
std::optional<ThreadRole> parse_role(std::string_view name);

}  // namespace hvmm::sandbox
