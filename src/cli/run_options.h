// `hvmm run`'s options: parsed with CLI11, then checked and turned into a MachineConfig. Every
// check here runs before a lab relaunch, so bad input never starts QEMU.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "vmm/machine_config.h"
#include "vmm/nic_optimizations.h"

namespace hvmm::cli {


struct RunOptions {
    std::optional<std::string> kernel;
    std::optional<std::string> initrd;
    std::optional<std::string> append;
    uint64_t mem_mib = 256;
    uint32_t cpus = 1;
    std::optional<std::string> run_command;
    std::vector<std::string> nics;
    NicOptimizations nic_optimizations;  // --nic-opt
    bool stats = false;
    std::optional<std::string> stats_json;
    bool sandbox = true;                  // --sandbox on|off: the seccomp filters per thread
    // --io-sched auto|batch|normal; nullopt (auto): chosen by the NICs (make_machine_config)
    std::optional<IoThreadScheduling> io_thread_scheduling;
    std::optional<std::string> run_as;    // --user NAME
    int verbosity = 0;
    bool help_requested = false;
    std::string help_text;
};

// argv[0] is "run". A parse error is one line naming the option.
Result<RunOptions> parse_run_options(int argc, const char* const* argv);

// Checks the files (the kernel must be a bzImage), sizes and NIC specs, and builds the command
// line: --append replaces the default; --run appends hvmm.run=<base64 of the command>; NICs on a
// network with a DHCP server (vmm/nic_dhcp.h) append hvmm.dhcp=eth0[,eth1...].
Result<MachineConfig> make_machine_config(const RunOptions& options);

// dhcp_interfaces: the guest interfaces the default image's /init configures by DHCP.
std::string kernel_cmdline(const RunOptions& options,
                           std::span<const std::string> dhcp_interfaces = {});

}  // namespace hvmm::cli
