#include "cli/run_options.h"

#include <cstdlib>

#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "base/cpu_list.h"
#include "boot/bzimage.h"
#include "cli/base64.h"
#include "cli/default_image.h"
#include "memory/guest_memory.h"
#include "sandbox/privileges.h"
#include "vmm/nic_dhcp.h"
#include "vmm/nic_spec.h"

namespace hvmm::cli {
namespace {

constexpr uint64_t kMaxMemoryMib = 1ull << 20;  // 1 TiB: far past any host this runs on
constexpr uint32_t kMaxCpus = 255;              // xAPIC ids

// CLI11's messages sometimes span lines; the contract is one line.
std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\n')
            c = ' ';
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
}

Result<void> check_readable_file(const std::string& path, std::string_view what) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        return fail_errno("{} {}", what, path);
    }
    if (!S_ISREG(info.st_mode)) {
        return fail("{} {} is not a regular file", what, path);
    }
    if (::access(path.c_str(), R_OK) != 0) {
        return fail_errno("{} {}", what, path);
    }
    return {};
}

// --io-sched auto. A virtio NIC's transmit runs on the I/O thread, so a kick that does not
// preempt the guest lets it queue more, and the drain takes them all (userspace virtio TX 3.3x
// in the lab). The PCnet transmits on the vCPU thread, and its receive frames waiting for a busy
// vCPU cost it (TX 0.75-0.90x): a machine of PCnets only keeps the preempting wakeups.
IoThreadScheduling io_thread_scheduling_for(const std::vector<NicSpec>& nics) {
    for (const auto& nic : nics) {
        if (nic.model == NicModel::kVirtio) {
            return IoThreadScheduling::kBatch;
        }
    }
    return IoThreadScheduling::kNormal;
}

}  // namespace

Result<RunOptions> parse_run_options(int argc, const char* const* argv) {
    RunOptions options;
    CLI::App app{"Boot a Linux guest", "hvmm run"};
    std::string kernel, initrd, append, run_command, stats_json, nic_opt, user;
    std::string sandbox = "on";
    std::string io_sched = "auto";
    app.add_option("--kernel", kernel, "bzImage to boot (default: the default guest image)");
    app.add_option("--initrd", initrd, "initial ramdisk (default: the default guest image's)");
    app.add_option("--append", append, "kernel command line (replaces the default)");
    app.add_option("--mem", options.mem_mib, "guest memory in MiB (default 256)");
    app.add_option("--cpus", options.cpus, "vCPUs (default 1)");
    app.add_option("--run", run_command, "shell command for the default image's /init to run");
    app.add_option("--nic", options.nics,
                   "a NIC (repeatable): pcnet|virtio[,net=NETWORK][,mac=MAC][,pcap=FILE]; "
                   "virtio also [,vhost=on|off|auto][,poll-us=N]; networks below");
    app.add_option("--nic-opt", nic_opt,
                   "NIC optimizations: paper (default), all, baseline, or a list of "
                   "ports,combine,notify,kick");
    app.add_flag("--stats", options.stats, "print exit statistics when the guest stops");
    app.add_option("--stats-json", stats_json, "write exit statistics as JSON to FILE");
    app.add_option("--sandbox", sandbox,
                   "on (default): each thread's system calls limited to its role's; off: for "
                   "debugging")
        ->check(CLI::IsMember({"on", "off"}));
    app.add_option("--io-sched", io_sched,
                   "batch: the I/O thread's wakeups wait for a vCPU on its CPU to halt or end "
                   "its time slice, and find more work at once; normal: they preempt it; auto "
                   "(default): batch with a virtio NIC, else normal");
    app.add_option("--user", user,
                   "started as root: become this user once /dev/kvm, TAPs and vhost are open");
    app.add_flag("-v,--verbose", options.verbosity, "more messages (-vv: debug)");
    app.footer(
        "Networks for --nic net=:\n"
        "  user (the default)       NAT through libslirp; may be followed by\n"
        "                           hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT\n"
        "                           (repeatable), restrict=on|off, dns=ADDR, ipv6=on|off\n"
        "  ADDR/PREFIX              a user network on that subnet (default 10.0.2.0/24)\n"
        "  tap:NAME                 a host TAP interface (created if missing)\n"
        "  stream:PATH              client of a Unix stream socket, QEMU -netdev stream framing;\n"
        "                           ,reconnect=SECONDS retries while the peer is away\n"
        "  stream-listen:PATH       the same, listening at PATH for one peer\n"
        "  dgram:LOCAL,REMOTE       Unix datagram sockets, QEMU -netdev dgram\n"
        "  switch:NAME              the named hvmm switch (reconnects every second)\n"
        "Socket paths may not contain ',' or '='.\n"
        "Example: --nic pcnet,net=10.0.3.0/24,hostfwd=tcp::8080-:80");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        options.help_requested = true;
        options.help_text = app.help();
        return options;
    } catch (const CLI::ParseError& error) {
        return fail("{}", one_line(error.what()));
    }
    auto set = [&app](const char* name) { return app.count(name) > 0; };
    if (set("--kernel"))
        options.kernel = kernel;
    if (set("--initrd"))
        options.initrd = initrd;
    if (set("--append"))
        options.append = append;
    if (set("--run"))
        options.run_command = run_command;
    if (set("--stats-json"))
        options.stats_json = stats_json;
    options.sandbox = sandbox == "on";
    options.io_thread_scheduling = HVMM_TRY(parse_io_thread_scheduling(io_sched));
    if (set("--user"))
        options.run_as = user;
    if (set("--nic-opt"))
        options.nic_optimizations = HVMM_TRY(parse_nic_optimizations(nic_opt));
    return options;
}

std::string kernel_cmdline(const RunOptions& options,
                           std::span<const std::string> dhcp_interfaces) {
    std::string cmdline = options.append.value_or(std::string(kDefaultKernelCmdline));
    if (!dhcp_interfaces.empty()) {
        if (!cmdline.empty())
            cmdline += ' ';
        cmdline += "hvmm.dhcp=";
        for (size_t i = 0; i < dhcp_interfaces.size(); ++i) {
            cmdline += (i == 0 ? "" : ",") + dhcp_interfaces[i];
        }
    }
    if (options.run_command) {
        if (!cmdline.empty())
            cmdline += ' ';
        cmdline += "hvmm.run=" + base64_encode(*options.run_command);
    }
    return cmdline;
}

Result<MachineConfig> make_machine_config(const RunOptions& options) {
    MachineConfig config;
    if (options.mem_mib < (GuestMemory::kMinimumSize >> 20)) {
        return fail("--mem {} is too little memory: at least {} MiB", options.mem_mib,
                    GuestMemory::kMinimumSize >> 20);
    }
    if (options.mem_mib > kMaxMemoryMib) {
        return fail("--mem {} is too much memory: at most {} MiB", options.mem_mib, kMaxMemoryMib);
    }
    if (options.cpus < 1 || options.cpus > kMaxCpus) {
        return fail("--cpus {} is out of range: 1 to {}", options.cpus, kMaxCpus);
    }
    config.memory_bytes = options.mem_mib << 20;
    config.cpu_count = options.cpus;

    if (options.kernel) {
        config.kernel_path = *options.kernel;
        config.initrd_path = options.initrd.value_or("");
        HVMM_TRY_VOID(check_readable_file(config.kernel_path, "kernel"));
    } else {
        // No --kernel: the default guest image, both parts unless --initrd names another.
        const DefaultImage image = HVMM_TRY(default_image_paths());
        if (::access(image.kernel_path.c_str(), R_OK) != 0) {
            return fail("{}", missing_default_image_message(image.kernel_path));
        }
        config.kernel_path = image.kernel_path;
        if (::access(image.vmlinux_path.c_str(), R_OK) == 0) {
            config.vmlinux_path = image.vmlinux_path;
        }
        if (options.initrd) {
            config.initrd_path = *options.initrd;
        } else if (::access(image.initrd_path.c_str(), R_OK) != 0) {
            return fail("{}", missing_default_image_message(image.initrd_path));
        } else {
            config.initrd_path = image.initrd_path;
        }
    }
    // Parsing the whole image now names a wrong file before any VM (or lab) starts.
    HVMM_TRY_VOID(boot::read_bzimage(config.kernel_path));
    if (!config.initrd_path.empty()) {
        HVMM_TRY_VOID(check_readable_file(config.initrd_path, "initrd"));
    }

    for (unsigned i = 0; i < options.nics.size(); ++i) {
        config.nics.push_back(HVMM_TRY(parse_nic_spec(options.nics[i], i)));
    }
    HVMM_TRY_VOID(check_nic_specs(config.nics));
    config.nic_optimizations = options.nic_optimizations;
    if (options.run_as) {
        HVMM_TRY_VOID(sandbox::look_up_user(*options.run_as));
    }
    config.privileges = {.drop = true, .run_as = options.run_as};
    config.io_thread_scheduling =
        options.io_thread_scheduling.value_or(io_thread_scheduling_for(config.nics));
    config.cmdline = kernel_cmdline(options, dhcp_interfaces(config.nics));
    if (const char* vcpu_cpus = std::getenv("HVMM_VCPU_CPUS"); vcpu_cpus != nullptr && *vcpu_cpus) {
        auto parsed = parse_cpu_list(vcpu_cpus);
        if (!parsed) {
            return fail("HVMM_VCPU_CPUS: {}", parsed.error().message);
        }
        config.vcpu_cpus = vcpu_cpus;
    }
    return config;
}

}  // namespace hvmm::cli
