// `hvmm switch list|status|stop`, and the dispatch to `start` (switch_start.cc). Each talks to
// a running switch through its control socket (vmnet/switch_control.h); whether it runs at all
// is its lock's say (vmnet/switch_instance.h), and files a dead one left are cleaned on the way.
#include "cli/switch_command.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string_view>
#include <thread>

#include <fmt/core.h>

#include "base/log.h"
#include "vmnet/switch_control.h"
#include "vmnet/switch_instance.h"

namespace hvmm::cli {
namespace {

constexpr std::string_view kUsage =
    "usage: hvmm switch start NAME [--subnet A.B.C.0/24] [--dhcp] [--reserve MAC=IP]...\n"
    "                         [--nat [--hostfwd tcp|udp:[HOSTADDR]:HOSTPORT-GUESTADDR:GUESTPORT]"
    "...]\n"
    "                         [--uplink tap:IFACE] [--pcap FILE] [--foreground] [-v]\n"
    "       hvmm switch list\n"
    "       hvmm switch status NAME [--json]\n"
    "       hvmm switch stop NAME\n";

constexpr auto kStopWait = std::chrono::seconds(5);

Result<vmnet::SwitchPaths> paths_of(std::string_view name) {
    return vmnet::switch_paths(name, vmnet::current_switch_environment());
}

// The status of a running switch; "not running" (after cleaning what a dead one left) else.
Result<nlohmann::json> running_status(std::string_view name, const vmnet::SwitchPaths& paths) {
    if (!vmnet::switch_running(paths)) {
        vmnet::clean_dead_switch(paths);
        return fail("switch '{}' is not running", name);
    }
    return vmnet::control_request(paths.control_socket, {{"op", "status"}});
}

std::string counters_line(const nlohmann::json& object) {
    std::string line;
    for (const auto& [key, value] : object.items()) {
        if (value.is_number() && value.get<uint64_t>() != 0) {
            line += fmt::format("{}{} {}", line.empty() ? "" : ", ", key, value.get<uint64_t>());
        }
    }
    return line.empty() ? "none" : line;
}

void print_nat(const nlohmann::json& nat) {
    fmt::print("nat {}: gateway and DNS {}", nat.value("network", ""), nat.value("gateway", ""));
    if (const std::string mac = nat.value("mac", ""); !mac.empty()) {
        fmt::print(" at {}", mac);
    }
    fmt::print("\n");
    for (const auto& forward : nat["forwards"]) {
        fmt::print("  hostfwd {}\n", forward.get<std::string>());
    }
    fmt::print("  libslirp: {}\n", counters_line(nat["counters"]));
}

void print_status(const nlohmann::json& s) {
    fmt::print("switch {}  pid {}  up {} s  socket {}\n", s.value("name", ""), s.value("pid", 0),
               s.value("uptime_seconds", 0), s.value("socket", ""));
    fmt::print("ports:\n  {:>4}  {:<6}  {:<46}  {:>10}  {:>10}  {:>9}  {:>5}\n", "id", "kind",
               "peer", "rx frames", "tx frames", "tail drop", "macs");
    for (const auto& port : s["ports"]) {
        fmt::print("  {:>4}  {:<6}  {:<46}  {:>10}  {:>10}  {:>9}  {:>5}\n",
                   port.value("id", 0), port.value("kind", ""), port.value("peer", ""),
                   port.value("rx_frames", 0), port.value("tx_frames", 0),
                   port.value("tx_queue_full", 0), port.value("macs", 0));
    }
    const auto& table = s["mac_table"];
    fmt::print("mac table: {} of {} (at most {} per port; learned {}, evicted {}, expired {})\n",
               table.value("size", 0), table.value("capacity", 0),
               table.value("per_port_cap", 0), table.value("learned", 0),
               table.value("evicted", 0), table.value("expired", 0));
    for (const auto& entry : table["entries"]) {
        fmt::print("  {}  port {}  seen {} s ago\n", entry.value("mac", ""),
                   entry.value("port", 0), entry.value("age_seconds", 0));
    }
    if (s.contains("dhcp")) {
        fmt::print("dhcp {}:\n", s["dhcp"].value("subnet", ""));
        for (const auto& lease : s["dhcp"]["leases"]) {
            fmt::print("  {}  {}  {}  {} s left\n", lease.value("address", ""),
                       lease.value("mac", ""), lease.value("state", ""),
                       lease.value("expires_in_seconds", 0));
        }
    }
    for (const auto& port : s["ports"]) {
        if (port.value("kind", "") == "nat" && port.contains("details")) {
            print_nat(port["details"]);
        }
    }
    fmt::print("drops: {}\n", counters_line(s["drops"]));
}

int status_command(int argc, char** argv) {
    std::string_view name;
    bool json = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--json") {
            json = true;
        } else if (name.empty() && !arg.starts_with("-")) {
            name = arg;
        } else {
            log::error("switch status: unexpected '{}' (usage: hvmm switch status NAME [--json])",
                       arg);
            return 1;
        }
    }
    if (name.empty()) {
        log::error("switch status: which switch? (usage: hvmm switch status NAME [--json])");
        return 1;
    }
    auto paths = paths_of(name);
    auto status = paths ? running_status(name, *paths) : std::unexpected(paths.error());
    if (!status) {
        log::error("{}", status.error().message);
        return 1;
    }
    status->erase("ok");
    if (json) {
        fmt::print("{}\n", status->dump(2));
    } else {
        print_status(*status);
    }
    return 0;
}

int list_command() {
    const vmnet::SwitchEnvironment environment = vmnet::current_switch_environment();
    // Any name gives the directory; "x" is a valid one.
    const auto directory = vmnet::switch_paths("x", environment);
    if (!directory) {
        log::error("{}", directory.error().message);
        return 1;
    }
    fmt::print("{:<16}  {:>8}  {:>5}  {}\n", "name", "pid", "ports", "socket");
    for (const std::string& name : vmnet::switch_names_in(directory->directory)) {
        const auto paths = vmnet::switch_paths(name, environment);
        if (!paths) {
            continue;
        }
        const auto status = running_status(name, *paths);  // cleans a dead switch's files
        if (!status) {
            if (vmnet::switch_running(*paths)) {  // alive but not answering: still shown
                const auto pid = vmnet::read_switch_pid(*paths);
                fmt::print("{:<16}  {:>8}  {:>5}  {}\n", name, pid ? *pid : 0, "?", paths->socket);
            }
            continue;
        }
        fmt::print("{:<16}  {:>8}  {:>5}  {}\n", name, status->value("pid", 0),
                   (*status)["ports"].size(), paths->socket);
    }
    return 0;
}

int stop_command(int argc, char** argv) {
    if (argc != 2) {
        log::error("switch stop: usage: hvmm switch stop NAME");
        return 1;
    }
    const std::string_view name = argv[1];
    const auto paths = paths_of(name);
    if (!paths) {
        log::error("{}", paths.error().message);
        return 1;
    }
    if (!vmnet::switch_running(*paths)) {
        vmnet::clean_dead_switch(*paths);
        log::error("switch '{}' is not running", name);
        return 1;
    }
    if (auto asked = vmnet::control_request(paths->control_socket, {{"op", "stop"}}); !asked) {
        // Not answering (stuck, or its control socket removed by hand): the signal still works.
        const auto pid = vmnet::read_switch_pid(*paths);
        if (!pid || ::kill(*pid, SIGTERM) != 0) {
            log::error("switch '{}': {}", name, asked.error().message);
            return 1;
        }
    }
    // Returns once the daemon is gone and its files with it, so a start right after works.
    const auto deadline = std::chrono::steady_clock::now() + kStopWait;
    while (vmnet::switch_running(*paths)) {
        if (std::chrono::steady_clock::now() > deadline) {
            log::error("switch '{}' did not stop within {} s", name, kStopWait.count());
            return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    vmnet::clean_dead_switch(*paths);
    return 0;
}

}  // namespace

int switch_command(int argc, char** argv) {
    const std::string_view sub = argc >= 2 ? argv[1] : "";
    if (sub == "start") {
        return switch_start(argc - 1, argv + 1);
    }
    if (sub == "list") {
        return list_command();
    }
    if (sub == "status") {
        return status_command(argc - 1, argv + 1);
    }
    if (sub == "stop") {
        return stop_command(argc - 1, argv + 1);
    }
    if (sub == "-h" || sub == "--help" || sub == "help") {
        fmt::print("{}", kUsage);
        return 0;
    }
    fmt::print(stderr, "{}", kUsage);
    return 1;
}

}  // namespace hvmm::cli
