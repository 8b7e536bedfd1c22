// What a Machine is built from. The CLI fills it; tests build their own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/thread_scheduling.h"
#include "sandbox/privileges.h"
#include "vmm/nic_optimizations.h"
#include "vmm/nic_spec.h"

namespace hvmm {

// The kernel command line when --append is not given. `quiet` because every console byte costs a
// world switch or two (a THR write and an LSR read): a full boot log is ~22k characters and ~45k
// exits, which delayed /init by ~3 s of guest time in the lab; panics still print (KERN_EMERG).
inline constexpr std::string_view kDefaultKernelCmdline = "console=ttyS0 reboot=k panic=-1 quiet";

struct MachineConfig {
    uint64_t memory_bytes = 256ull << 20;
    uint32_t cpu_count = 1;
    std::string kernel_path;
    std::string initrd_path;  // empty: no initrd
    std::string vmlinux_path;  // kernel_path's kernel decompressed, if known (LinuxBootSpec)
    std::string cmdline{kDefaultKernelCmdline};
    // NICs from --nic, wired by the machine builder (see machine.h).
    std::vector<NicSpec> nics;
    // The paper's optimizations for every NIC (--nic-opt).
    NicOptimizations nic_optimizations;
    // The console on hvmm's stdin/stdout (raw terminal, Ctrl-A x); off, output still goes to
    // console_fd but nothing is read.
    bool console_input = true;
    int console_fd = 1;
    // The CPUs the vCPU threads run on (a cpuset list such as "0"; empty: wherever the host
    // puts them). From HVMM_VCPU_CPUS, which the lab sets so that the nested guest's vCPU keeps
    // a lab CPU of its own (lab/README.md, "Placement").
    std::string vcpu_cpus;
    // How the I/O thread shares a CPU with the vCPUs (--io-sched; base/thread_scheduling.h).
    IoThreadScheduling io_thread_scheduling = IoThreadScheduling::kNormal;
    // Given up by run() before it starts any thread (the command drops every capability; a
    // Machine made by a test keeps the test's).
    sandbox::PrivilegeSettings privileges;
};

}  // namespace hvmm
