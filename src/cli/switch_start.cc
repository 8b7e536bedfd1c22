// `hvmm switch start NAME ...`: parses the network's options, takes the switch's lock, binds its
// sockets, and then (unless --foreground) detaches. Everything that can fail for a reason the
// user can fix happens before the fork, in the process the user started, so its one-line error
// reaches the terminal and the exit status; the parent returns 0 only once the sockets listen.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "base/log.h"
#include "base/thread_scheduling.h"
#include "cli/switch_command.h"
#include "sandbox/privileges.h"
#include "sandbox/seccomp_sandbox.h"
#include "vmnet/nat_port.h"
#include "vmnet/switch_instance.h"
#include "vmnet/virtual_switch.h"

namespace hvmm::cli {
namespace {

using vmnet::SwitchConfig;

std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\n')
            c = ' ';
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
}

Result<vmnet::DhcpReservation> parse_reservation(std::string_view text) {
    const size_t equals = text.find('=');
    const auto mac = net::parse_mac(text.substr(0, equals));
    const auto address = equals == std::string_view::npos
                             ? std::nullopt
                             : net::parse_ipv4(text.substr(equals + 1));
    if (!mac || !address || !net::is_unicast_station(*mac)) {
        return fail("--reserve '{}': expected MAC=IP, e.g. 52:54:00:12:34:56=192.168.76.10", text);
    }
    return vmnet::DhcpReservation{*mac, *address};
}

struct StartOptions {
    SwitchConfig config;
    bool foreground = false;
    bool sandbox = true;  // --sandbox on|off
    // --io-sched: the daemon is one event loop, an I/O thread like a VM's (base/thread_scheduling.h)
    IoThreadScheduling scheduling = IoThreadScheduling::kNormal;
};

Result<void> lock_down(const StartOptions& options) {
    HVMM_TRY_VOID(sandbox::drop_privileges({.drop = true, .run_as = std::nullopt}));
    if (!options.sandbox)
        return {};
    // Once running, the daemon rewrites its leases file (by rename, in its directory), removes
    // its files from the runtime directory when it stops, names a port's peer from
    // /proc/PID/comm, and with --nat libslirp reads resolv.conf. Nothing else on the file
    // system is within its reach.
    sandbox::FilesystemAccess files;
    files.readable_directories = {"/proc"};
    files.writable_directories = {options.config.paths.directory};
    const auto leases_directory =
        std::filesystem::path(options.config.paths.leases_file).parent_path().string();
    if (leases_directory != options.config.paths.directory)
        files.writable_directories.push_back(leases_directory);
    if (options.config.nat)
        files.readable_files.push_back(sandbox::kResolvConf);
    HVMM_TRY_VOID(sandbox::prepare({.user_network = options.config.nat.has_value(),
                                    .vhost = false,
                                    .tap = options.config.uplink_tap.has_value(),
                                    .filesystem = std::move(files)}));
    return sandbox::enter(sandbox::ThreadRole::kSwitch);
}

Result<StartOptions> parse_start(int argc, char** argv, bool& help) {
    CLI::App app{"Start a host-only network (a switch VMs join by its socket)",
                 "hvmm switch start"};
    std::string name, subnet, uplink, pcap;
    std::string sandbox = "on";
    std::string io_sched = "auto";
    std::vector<std::string> reservations, forwards;
    StartOptions options;
    bool dhcp = false, nat = false;
    int verbosity = 0;
    app.add_option("NAME", name, "the network's name")->required();
    app.add_option("--subnet", subnet, "the network's /24 (default 192.168.76.0/24)");
    app.add_flag("--dhcp", dhcp, "serve DHCP: .1 host, .2 gateway, .128-.253 pool, .254 server");
    app.add_option("--reserve", reservations, "MAC=IP: a fixed address for one MAC (repeatable)");
    app.add_flag("--nat", nat, "a NAT gateway and DNS at .2 (user-mode, libslirp)");
    app.add_option("--hostfwd", forwards,
                   "tcp|udp:[HOSTADDR]:HOSTPORT-GUESTADDR:GUESTPORT into the NAT (repeatable)");
    app.add_option("--uplink", uplink, "tap:NAME: bridge the switch to an existing TAP");
    app.add_option("--pcap", pcap, "record every forwarded frame in FILE");
    app.add_flag("--foreground", options.foreground, "stay attached (log to stderr)");
    app.add_option("--sandbox", sandbox,
                   "on (default): the daemon's system calls limited to its role's; off: for "
                   "debugging")
        ->check(CLI::IsMember({"on", "off"}));
    app.add_option("--io-sched", io_sched,
                   "batch: a frame's arrival waits for the running VM thread on the daemon's "
                   "CPU to block or end its slice, and several go on together; normal: it "
                   "preempts; auto (default): normal");
    app.add_flag("-v,--verbose", verbosity, "log port changes (always on when detached)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        help = true;
        std::cout << app.help();
        return options;
    } catch (const CLI::ParseError& error) {
        return fail("{}", one_line(error.what()));
    }
    if (verbosity > 0) {
        log::set_level(verbosity > 1 ? log::Level::kDebug : log::Level::kInfo);
    }
    options.sandbox = sandbox == "on";
    // auto: normal. The daemon cannot know its peers' NICs, and a PCnet VM sends from its vCPU
    // thread, which a batching daemon would wait for (as a VM's own I/O thread would; `hvmm run
    // --io-sched`). Batch is there to measure.
    options.scheduling =
        HVMM_TRY(parse_io_thread_scheduling(io_sched)).value_or(IoThreadScheduling::kNormal);
    SwitchConfig& config = options.config;
    config.name = name;
    config.paths = HVMM_TRY(vmnet::switch_paths(name, vmnet::current_switch_environment()));
    if (!dhcp && !reservations.empty()) {
        return fail("--reserve configures the DHCP server: add --dhcp");
    }
    if (!dhcp && !nat && !subnet.empty()) {
        return fail("--subnet is the network of --dhcp or --nat: add one");
    }
    if (!nat && !forwards.empty()) {
        return fail("--hostfwd forwards into the NAT: add --nat");
    }
    net::Ipv4Address network = vmnet::kDefaultSwitchNetwork;
    if (!subnet.empty()) {
        const auto parsed = net::parse_ipv4_subnet(subnet);
        if (!parsed || parsed->prefix != 24) {
            return fail("--subnet '{}': expected a /24 such as 192.168.76.0/24", subnet);
        }
        network = parsed->network;
    }
    if (dhcp) {
        vmnet::DhcpServerConfig server;
        server.network = network;
        for (const std::string& text : reservations) {
            server.reservations.push_back(HVMM_TRY(parse_reservation(text)));
        }
        // The server refuses what cannot work (reservations outside the subnet, ...) with its
        // own one line; checked here so the error comes before anything is created.
        HVMM_TRY(vmnet::DhcpServer::create(server));
        config.dhcp = std::move(server);
    }
    if (nat) {
        std::vector<net::HostForward> parsed;
        for (const std::string& text : forwards) {
            parsed.push_back(HVMM_TRY(net::parse_host_forward(text)));
        }
        // The DHCP server's router and DNS (.2, its dns left empty) are the NAT's address.
        config.nat = vmnet::switch_nat_config(network, std::move(parsed));
        HVMM_TRY_VOID(net::check_user_net_config(*config.nat));
    }
    if (!uplink.empty()) {
        if (!uplink.starts_with("tap:") || uplink.size() == 4) {
            return fail("--uplink '{}': expected tap:NAME", uplink);
        }
        config.uplink_tap = uplink.substr(4);
    }
    if (!pcap.empty()) {
        // The daemon leaves the current directory; a relative name means the one it started in.
        if (pcap[0] != '/') {
            char* cwd = ::getcwd(nullptr, 0);
            if (cwd != nullptr) {
                pcap = std::string(cwd) + "/" + pcap;
                std::free(cwd);
            }
        }
        config.pcap_file = pcap;
    }
    return options;
}

// The detached daemon's stdio: nothing to read, its log file for messages.
void detach_stdio(const std::string& log_file) {
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (null_fd >= 0) {
        ::dup2(null_fd, STDIN_FILENO);
    }
    const int out = log_fd >= 0 ? log_fd : null_fd;
    if (out >= 0) {
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
    }
    for (const int fd : {null_fd, log_fd}) {
        if (fd > STDERR_FILENO) {
            ::close(fd);
        }
    }
}

}  // namespace

int switch_start(int argc, char** argv) {
    bool help = false;
    auto options = parse_start(argc, argv, help);
    if (!options) {
        log::error("{}", options.error().message);
        return 1;
    }
    if (help) {
        return 0;
    }
    const SwitchConfig& config = options->config;
    auto lock = vmnet::acquire_switch_lock(config.name, config.paths);
    if (!lock) {
        log::error("{}", lock.error().message);
        return 1;
    }
    auto virtual_switch = vmnet::VirtualSwitch::create(config);
    if (!virtual_switch) {
        log::error("switch '{}': {}", config.name, virtual_switch.error().message);
        vmnet::remove_switch_files(config.paths);
        return 1;
    }

    int ready[2] = {-1, -1};
    if (!options->foreground) {
        if (::pipe2(ready, O_CLOEXEC) != 0) {
            log::error("switch '{}': cannot create a pipe: {}", config.name, std::strerror(errno));
            return 1;
        }
        std::fflush(nullptr);
        const pid_t child = ::fork();
        if (child < 0) {
            log::error("switch '{}': cannot fork: {}", config.name, std::strerror(errno));
            return 1;
        }
        if (child > 0) {
            // The parent: the sockets, lock and files belong to the daemon now, so no destructor
            // may run here (they would unlink the sockets); _exit after the answer.
            ::close(ready[1]);
            char byte = 0;
            ssize_t n;
            do {
                n = ::read(ready[0], &byte, 1);
            } while (n < 0 && errno == EINTR);
            if (n == 1 && byte == 'k') {
                fmt::print("switch {}: {} (pid {})\n", config.name, config.paths.socket, child);
                std::fflush(stdout);
                ::_exit(0);
            }
            fmt::print(stderr, "hvmm: switch '{}' did not start (see {})\n", config.name,
                       config.paths.log_file);
            std::fflush(stderr);
            ::_exit(1);
        }
        ::close(ready[0]);
        ::setsid();  // no controlling terminal: closing the user's shell does not stop it
        if (::chdir("/") != 0) {
            // Not fatal: the daemon only keeps a directory busy.
        }
        detach_stdio(config.paths.log_file);
        log::set_level(log::Level::kInfo);  // the log file says when ports come and go
    }
    if (auto written = vmnet::write_switch_pid(config.paths, ::getpid()); !written) {
        log::error("switch '{}': {}", config.name, written.error().message);
        return 1;  // the parent hears EOF and reports the log file
    }
    // Before the sandbox, which has no call to change it; a refusal only costs batching.
    if (auto scheduled = set_current_thread_scheduling(options->scheduling); !scheduled) {
        log::warn("switch '{}': {}", config.name, scheduled.error().message);
    }
    // Every socket, the uplink, the leases and the pcap file are open: from here on the daemon
    // only forwards, and a bug in its frame path meets the sandbox. Before it says it started, so
    // that a started switch is a sandboxed one.
    if (auto watched = (*virtual_switch)->watch_signals(); !watched) {
        log::error("switch '{}': {}", config.name, watched.error().message);
        return 1;
    }
    if (auto locked = lock_down(*options); !locked) {
        log::error("switch '{}': {}", config.name, locked.error().message);
        return 1;
    }
    if (options->foreground) {
        fmt::print("switch {}: {} (pid {})\n", config.name, config.paths.socket, ::getpid());
        std::fflush(stdout);
    } else {
        const char ok = 'k';
        (void)!::write(ready[1], &ok, 1);
        ::close(ready[1]);
    }
    const auto ran = (*virtual_switch)->run();
    if (!ran) {
        log::error("switch '{}': {}", config.name, ran.error().message);
    }
    virtual_switch->reset();  // unbinds the sockets
    vmnet::remove_switch_files(config.paths);  // while the lock is still ours
    return ran ? 0 : 1;
}

}  // namespace hvmm::cli
