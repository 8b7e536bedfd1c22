// The default image's DHCP client against the user network, on this host: busybox udhcpc with
// the script guest/init writes, on a TAP in a private network namespace, bridged to a
// SlirpBackend as a NIC would be. Like the TAP tests it needs root and /dev/net/tun, and fails
// saying so without them (a missing prerequisite must not pass silently); busybox comes with
// scripts/test.sh's packages.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "net/slirp/slirp_backend.h"
#include "net/tap/tap_backend.h"

namespace hvmm {
namespace {

// The udhcpc script between guest/init's here-document markers, as /init writes it.
std::string udhcpc_script_from_init() {
    std::ifstream init(std::string(HVMM_SOURCE_DIR) + "/guest/init");
    std::string line, script;
    bool inside = false;
    while (std::getline(init, line)) {
        if (line.find("cat > /etc/udhcpc.script <<'SCRIPT'") != std::string::npos) {
            inside = true;
        } else if (inside && line == "SCRIPT") {
            return script;
        } else if (inside) {
            script += line + "\n";
        }
    }
    return {};
}

std::string busybox_path() {
    for (const char* path : {"/bin/busybox", "/usr/bin/busybox"}) {
        if (::access(path, X_OK) == 0)
            return path;
    }
    return {};
}

struct Forward final : FrameSink {
    NetBackend* to = nullptr;
    bool can_receive() override { return true; }
    void receive(std::span<const uint8_t> frame) override { to->send(frame); }
};

// In the forked child, inside fresh network and mount namespaces: a TAP "eth0" bridged to a
// SlirpBackend while `command` runs; returns the command's exit status (or 100+ on set-up).
int run_on_user_network(const std::string& dir, const std::string& command) {
    if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0)
        return 101;
    // The guest's resolv.conf goes to a file of the test's, not the host's.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return 102;
    const std::string resolv = dir + "/resolv.conf";
    std::ofstream(resolv).flush();
    if (::mount(resolv.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0)
        return 103;
    auto tap = TapBackend::open("eth0");
    if (!tap)
        return 104;
    auto slirp = SlirpBackend::open(net::UserNetConfig{}, MacAddress{});
    if (!slirp)
        return 105;
    Forward to_slirp, to_guest;
    to_slirp.to = slirp->get();
    to_guest.to = tap->get();
    (*tap)->set_sink(&to_slirp);
    (*slirp)->set_sink(&to_guest);

    const pid_t shell = ::fork();
    if (shell == 0) {
        ::execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
        ::_exit(127);
    }
    UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    epoll_event event{.events = EPOLLIN, .data = {.u32 = 0}};
    ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, (*tap)->receive_fd(), &event);
    event.data.u32 = 1;
    ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, (*slirp)->receive_fd(), &event);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(shell, &status, WNOHANG) == shell) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 106;
        }
        epoll_event ready[4];
        const int count = ::epoll_wait(epoll.get(), ready, 4, 50);
        for (int i = 0; i < count; ++i) {
            if (ready[i].data.u32 == 0) {
                (*tap)->poll_receive();
            } else {
                (*slirp)->poll_receive();
            }
        }
    }
    ::kill(shell, SIGKILL);
    return 107;
}

TEST(SlirpGuestDhcp, InitsUdhcpcScriptConfiguresAddressRouteAndDns) {
    ASSERT_EQ(::geteuid(), 0u) << "needs root (a network namespace and a TAP)";
    ASSERT_EQ(::access("/dev/net/tun", R_OK | W_OK), 0) << "needs /dev/net/tun";
    const std::string busybox = busybox_path();
    ASSERT_FALSE(busybox.empty()) << "needs busybox (busybox-static)";
    const std::string script = udhcpc_script_from_init();
    ASSERT_FALSE(script.empty()) << "guest/init writes no udhcpc script";

    char dir_template[] = "/tmp/hvmm-slirp-dhcp-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    std::ofstream(dir + "/udhcpc.script") << script;
    std::filesystem::permissions(dir + "/udhcpc.script", std::filesystem::perms::owner_all);
    // The image's PATH finds busybox's applets first: so does this one.
    std::filesystem::create_directory(dir + "/bin");
    for (const char* applet : {"ip", "udhcpc"}) {
        std::filesystem::create_symlink(busybox, dir + "/bin/" + applet);
    }
    // As guest/init does it, then what the lease left behind.
    const std::string command = fmt::format(
        "export PATH={0}/bin:$PATH; ip link set eth0 up && "
        "udhcpc -i eth0 -s {0}/udhcpc.script -f -q -n -t 5 -T 1 >/dev/null 2>&1 && "
        "{{ ip -4 addr show dev eth0; ip route; cat /etc/resolv.conf; }} > {0}/out 2>&1",
        dir);

    const pid_t child = ::fork();
    if (child == 0) {
        ::_exit(run_on_user_network(dir, command));
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    std::stringstream out;
    out << std::ifstream(dir + "/out").rdbuf();
    std::filesystem::remove_all(dir);
    ASSERT_EQ(WEXITSTATUS(status), 0) << out.str();
    EXPECT_NE(out.str().find("inet 10.0.2.15/24"), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("default via 10.0.2.2 dev eth0"), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("nameserver 10.0.2.3"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace hvmm
