// How a run ended, and the exit status and message `hvmm run` gives for it (docs/CONTRACTS.md).
#pragma once

#include <string>

namespace hvmm {

enum class StopReason {
    kPowerOff,     // ACPI soft-off: the status the guest wrote to port 0x602, else 0
    kReboot,       // i8042 reset or KVM's reset event: 0, "guest rebooted"
    kPanicReset,   // a reset after "Kernel panic - not syncing" on the console: 120
    kTripleFault,  // KVM_EXIT_SHUTDOWN not following a panic: 121
    kSignal,       // SIGINT 130, SIGTERM 143
    kUserQuit,     // Ctrl-A x on the console: 130, like an interrupt from the keyboard
    kError,        // hvmm could not run the VM: 1
};

struct RunOutcome {
    StopReason reason;
    int exit_status;
    std::string message;  // one line for stderr; empty for an ordinary power-off
};

constexpr int kExitStatusPanic = 120;
constexpr int kExitStatusTripleFault = 121;
constexpr int kExitStatusError = 1;
inline int exit_status_for_signal(int signal_number) {
    return 128 + signal_number;
}

}  // namespace hvmm
