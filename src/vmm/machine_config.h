// What a Machine is built from. The CLI fills it; tests build their own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vmm/nic_spec.h"

namespace hvmm {

struct MachineConfig {
    uint64_t memory_bytes = 256ull << 20;
    uint32_t cpu_count = 1;
    std::string kernel_path;
    std::string initrd_path;  // empty: no initrd
    std::string cmdline = "console=ttyS0 reboot=k panic=-1";
    // NICs from --nic, wired by the machine builder (see machine.h).
    std::vector<NicSpec> nics;
    // The console on hvmm's stdin/stdout (raw terminal, Ctrl-A x); off, output still goes to
    // console_fd but nothing is read.
    bool console_input = true;
    int console_fd = 1;
};

}  // namespace hvmm
