// `hvmm switch` with real peers, where this host allows them: a TAP uplink with the host's own
// IP stack behind it (needs CAP_NET_ADMIN to make the TAP; skipped otherwise), and a QEMU that
// joins with the command line the README gives (skipped without QEMU 7.2 or later); and hvmm's
// own stream backend, which `--nic ...,net=switch:NAME` connects to the switch's socket.
#include <spawn.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "net/socket/stream_backend.h"
#include "net_test_sink.h"
#include "switch_test_fixture.h"

namespace hvmm {
namespace {

using std::chrono::milliseconds;
using testing::ethernet_frame;
using testing::station;
using testing::SwitchClient;
using testing::SwitchCommand;

bool shell(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// The host resolves the DHCP server's address through the TAP: its ARP request crosses the
// switch from the uplink to the DHCP port, and the reply crosses back.
TEST_F(SwitchCommand, TapUplinkBridgesTheHost) {
    const std::string tap = "hvmmsw" + std::to_string(::getpid() % 100000);
    if (!shell("ip tuntap add " + tap + " mode tap")) {
        GTEST_SKIP() << "cannot create a TAP here (needs CAP_NET_ADMIN)";
    }
    ASSERT_TRUE(shell("ip link set " + tap + " up && ip addr add 10.213.76.1/24 dev " + tap));
    start("up", {"--dhcp", "--subnet", "10.213.76.0/24", "--uplink", "tap:" + tap});
    // Any IPv4 packet to the server's address makes the host ask ARP for it.
    shell("python3 -c \"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
          ".sendto(b'x', ('10.213.76.254', 9))\"");
    bool resolved = false;
    for (int i = 0; i < 1500 && !resolved; ++i) {
        std::this_thread::sleep_for(milliseconds(20));
        resolved = shell("ip neigh show dev " + tap + " | grep -q '02:68:76:6d:00:fe'");
    }
    const auto s = status("up");
    EXPECT_TRUE(resolved) << s.dump(1);
    const auto uplink = port_of(s, "tap", 0);
    EXPECT_GT(uplink["rx_frames"].get<uint64_t>(), 0u);
    EXPECT_GT(uplink["tx_frames"].get<uint64_t>(), 0u);
    EXPECT_EQ(hvmm({"switch", "stop", "up"}).status, 0);
    shell("ip tuntap del " + tap + " mode tap");
}

std::string find_qemu() {
    for (const std::string& candidate :
         {std::string(std::getenv("HVMM_QEMU") ? std::getenv("HVMM_QEMU") : ""),
          std::string(std::getenv("HOME") ? std::getenv("HOME") : "") +
              "/.cache/hvmm/qemu-7.2/usr/bin/qemu-system-x86_64",
          std::string("/usr/bin/qemu-system-x86_64")}) {
        if (!candidate.empty() && ::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return "";
}

// A QEMU with no guest joins the switch exactly as the README says, and hubs it to a stream
// server of its own that the test connects to: frames cross QEMU's stream framing both ways.
TEST_F(SwitchCommand, QemuJoinsWithTheReadmeCommandLine) {
    const std::string qemu = find_qemu();
    if (qemu.empty()) {
        GTEST_SKIP() << "no QEMU to test against";
    }
    start("q");
    const std::string qemu_server = root_ + "/qemu.sock";
    std::vector<std::string> args = {
        qemu, "-M", "none", "-nodefaults", "-display", "none", "-netdev",
        "stream,id=n0,server=off,addr.type=unix,addr.path=" + socket("q"), "-netdev",
        "stream,id=n1,server=on,addr.type=unix,addr.path=" + qemu_server, "-netdev",
        "hubport,id=p0,hubid=0,netdev=n0", "-netdev", "hubport,id=p1,hubid=0,netdev=n1"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    // QEMU 7.2 from the lab's cache finds its own data files beside it, as the lab runs it.
    pid_t pid = 0;
    ASSERT_EQ(::posix_spawn(&pid, qemu.c_str(), nullptr, nullptr, argv.data(), environ), 0);
    std::optional<SwitchClient> behind_qemu;
    for (int i = 0; i < 1500 && !behind_qemu; ++i) {
        std::this_thread::sleep_for(milliseconds(20));
        behind_qemu = SwitchClient::connect(qemu_server);
    }
    auto vm = client("q");
    const auto s = status_with_ports("q", 2);
    if (!behind_qemu) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        GTEST_SKIP() << qemu << " did not start (no -netdev stream before QEMU 7.2?)";
    }
    bool qemu_peer = false;
    for (const auto& port : s["ports"]) {
        qemu_peer |= port["peer"].get<std::string>().find("qemu") != std::string::npos;
    }
    EXPECT_TRUE(qemu_peer) << s.dump(1);

    const auto out = ethernet_frame(net::kBroadcastMac, station(0x51), 300, 5);
    ASSERT_TRUE(behind_qemu->send_frame(out));
    EXPECT_EQ(vm.read_frame(), out);
    const auto back = ethernet_frame(station(0x51), station(0x52), 200, 6);
    ASSERT_TRUE(vm.send_frame(back));
    EXPECT_EQ(behind_qemu->read_frame(), back);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

TEST_F(SwitchCommand, HvmmStreamBackendJoins) {
    start("own");
    auto backend = StreamBackend::connect(socket("own"));
    ASSERT_TRUE(backend) << backend.error().message;
    testing::RecordingSink sink;
    (*backend)->set_sink(&sink);
    auto other = client("own");
    status_with_ports("own", 2);

    const auto out = ethernet_frame(net::kBroadcastMac, station(0x61), 400, 7);
    (*backend)->send(std::span<const uint8_t>(out));
    EXPECT_EQ(other.read_frame(), out);
    const auto back = ethernet_frame(station(0x61), station(0x62), 100, 8);
    ASSERT_TRUE(other.send_frame(back));
    for (int i = 0; i < 3000 && sink.frames.empty(); ++i) {
        std::this_thread::sleep_for(milliseconds(10));
        (*backend)->poll_receive();
    }
    ASSERT_EQ(sink.frames.size(), 1u);
    EXPECT_EQ(sink.frames[0], back);
    EXPECT_TRUE((*backend)->link_up());
}

}  // namespace
}  // namespace hvmm
