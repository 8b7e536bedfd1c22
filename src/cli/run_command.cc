#include <signal.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/core.h>

#include "base/log.h"
#include "cli/commands.h"
#include "cli/run_options.h"
#include "lab/host_assessment.h"
#include "lab/lab_launcher.h"
#include "sandbox/seccomp_sandbox.h"
#include "vmm/machine.h"
#include "vmm/nic_wiring.h"

namespace hvmm::cli {
namespace {

// stats_json_file: --stats-json's file, opened before the run (the sandbox opens no files).
void report_stats(const Machine& machine, const RunOptions& options,
                  std::ofstream& stats_json_file) {
    if (!options.stats && !options.stats_json)
        return;
    // The vCPU threads are joined: the per-port and per-device tables may be read.
    const stats::Snapshot snapshot =
        const_cast<Machine&>(machine).stats().snapshot(/*include_tables=*/true);
    if (options.stats) {
        std::cerr << stats::format_table(snapshot);
    }
    if (options.stats_json) {
        stats_json_file << stats::to_json(snapshot).dump(2) << '\n';
        stats_json_file.flush();
        if (!stats_json_file) {
            log::error("cannot write statistics to {}", *options.stats_json);
        }
    }
}

// A socket file's directory, for its removal at the end ("." for a bare name).
std::string directory_of(const std::string& path) {
    const auto parent = std::filesystem::path(path).parent_path();
    return parent.empty() ? "." : parent.string();
}

// What the sandbox must let the threads do, from the NICs' networks.

sandbox::SandboxNeeds sandbox_needs(const MachineConfig& config) {
    sandbox::SandboxNeeds needs;
    for (const NicSpec& nic : config.nics) {
        needs.user_network |= nic.net == NetKind::kUser;
        needs.tap |= nic.net == NetKind::kTap;
        needs.vhost |= nic.vhost != VhostMode::kOff;
        // The files a run still touches once it runs: libslirp reads resolv.conf for the DNS it
        // forwards; the socket files hvmm bound are removed at the end. Nothing else.
        if (nic.net == NetKind::kUser)
            needs.filesystem.readable_files.push_back(sandbox::kResolvConf);
        if (nic.net == NetKind::kStreamListen || nic.net == NetKind::kDgram)
            needs.filesystem.removable_directories.push_back(directory_of(nic.net_name));
    }
    return needs;
}

}  // namespace

int run_command(int argc, char** argv, int full_argc, char** full_argv) {
    auto options = parse_run_options(argc, argv);
    if (!options) {
        log::error("{}", options.error().message);
        return 1;
    }
    if (options->help_requested) {
        std::cout << options->help_text;
        return 0;
    }
    log::set_level(options->verbosity >= 2   ? log::Level::kDebug
                   : options->verbosity == 1 ? log::Level::kInfo
                                             : log::Level::kWarn);
    auto config = make_machine_config(*options);
    if (!config) {
        log::error("{}", config.error().message);
        return 1;
    }

    // Only input that passed every check reaches the lab.
    const lab::HostAssessment host = lab::assess_host();
    if (!host.ordinary_guests_at_speed) {
        // Always, at once, whatever the verbosity: a lab boot takes seconds before the guest
        // prints anything, and a user should know why and where the run is going.
        log::write(log::Level::kInfo,
                   fmt::format("this run goes through the lab: {}", host.reason));
        return lab::run_in_lab(full_argc, full_argv);
    }

    // A closed stdout (`hvmm run ... | head`) or a peer gone must cost the guest its output or
    // that link, not hvmm its life: writes fail with EPIPE instead of raising SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    if (options->sandbox) {
        if (auto prepared = sandbox::prepare(sandbox_needs(*config)); !prepared) {
            log::error("{}", prepared.error().message);
            return 1;
        }
    }
    std::ofstream stats_json_file;
    if (options->stats_json) {
        stats_json_file.open(*options->stats_json);
        if (!stats_json_file) {
            log::error("cannot write statistics to {}: {}", *options->stats_json,
                       std::strerror(errno));
            return 1;
        }
    }
    auto machine = Machine::create(*config);
    if (!machine) {
        log::error("{}", machine.error().message);
        return 1;
    }
    if (auto wired = wire_nics(**machine, config->nics, config->nic_optimizations); !wired) {
        log::error("{}", wired.error().message);
        return 1;
    }
    auto outcome = (*machine)->run();
    if (!outcome) {
        log::error("{}", outcome.error().message);
        return 1;
    }
    if (outcome->reason == StopReason::kError) {
        log::error("{}", outcome->message);
    } else if (!outcome->message.empty()) {
        log::write(log::Level::kInfo, outcome->message);
    }
    report_stats(**machine, *options, stats_json_file);
    return outcome->exit_status;
}

}  // namespace hvmm::cli
