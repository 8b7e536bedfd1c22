// `hvmm switch` end to end, no KVM needed: the built binary is started as a daemon with its
// runtime and cache directories in a temporary directory, and stream clients speaking QEMU's
// framing play the VMs.
#include <linux/landlock.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dhcp_test_client.h"
#include "switch_test_fixture.h"

namespace hvmm {
namespace {

using std::chrono::milliseconds;
using testing::ethernet_frame;
using testing::station;
using testing::SwitchClient;
using testing::SwitchCommand;

TEST_F(SwitchCommand, StartsListsAndStopsCleanly) {
    start("lan");
    struct stat info {};
    ASSERT_EQ(::stat(dir_.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0700u);
    EXPECT_TRUE(exists(socket("lan")));
    EXPECT_TRUE(exists(dir_ + "/lan.pid"));

    const auto again = hvmm({"switch", "start", "lan"});
    EXPECT_EQ(again.status, 1);
    EXPECT_NE(again.err.find("already running"), std::string::npos) << again.err;
    EXPECT_EQ(std::count(again.err.begin(), again.err.end(), '\n'), 1);

    const auto list = hvmm({"switch", "list"});
    EXPECT_EQ(list.status, 0);
    EXPECT_NE(list.out.find("lan"), std::string::npos);
    EXPECT_NE(list.out.find(socket("lan")), std::string::npos);

    const auto stop = hvmm({"switch", "stop", "lan"});
    EXPECT_EQ(stop.status, 0) << stop.err;
    EXPECT_FALSE(exists(socket("lan")));
    EXPECT_FALSE(exists(dir_ + "/lan.pid"));
    EXPECT_FALSE(exists(dir_ + "/lan.ctl"));
    EXPECT_EQ(hvmm({"switch", "status", "lan"}).status, 1);
}

TEST_F(SwitchCommand, ForwardsLearnedUnicastAndFloodsBroadcastAndUnknown) {
    start("fwd");
    auto a = client("fwd"), b = client("fwd"), c = client("fwd");
    status_with_ports("fwd", 3);

    // Broadcast from A: B and C get it; A learned.
    const auto hello = ethernet_frame(net::kBroadcastMac, station(0xA), 60, 1);
    ASSERT_TRUE(a.send_frame(hello));
    EXPECT_EQ(b.read_frame(), hello);
    EXPECT_EQ(c.read_frame(), hello);
    // Unicast from B to A (learned): only A.
    const auto reply = ethernet_frame(station(0xA), station(0xB), 60, 2);
    ASSERT_TRUE(b.send_frame(reply));
    EXPECT_EQ(a.read_frame(), reply);
    EXPECT_FALSE(c.read_frame(milliseconds(200)));
    // Unicast to a station nobody has heard of: flooded to B and C.
    const auto unknown = ethernet_frame(station(0xEE), station(0xA), 60, 3);
    ASSERT_TRUE(a.send_frame(unknown));
    EXPECT_EQ(b.read_frame(), unknown);
    EXPECT_EQ(c.read_frame(), unknown);
    EXPECT_FALSE(a.read_frame(milliseconds(100)));  // never back where it came from

    const auto s = status("fwd");
    ASSERT_TRUE(s.is_object());
    EXPECT_EQ(s["ports"].size(), 3u);
    std::set<std::string> macs;
    for (const auto& entry : s["mac_table"]["entries"]) macs.insert(entry["mac"]);
    EXPECT_TRUE(macs.contains(net::to_string(station(0xA))));
    EXPECT_TRUE(macs.contains(net::to_string(station(0xB))));
    const auto port_a = port_of(s, "stream", 0);
    EXPECT_EQ(port_a["rx_frames"], 2);
    EXPECT_EQ(port_a["rx_flooded"], 2);
    EXPECT_EQ(port_a["tx_frames"], 1);
    EXPECT_EQ(s["totals"]["unicast"], 1);
    EXPECT_NE(port_a["peer"].get<std::string>().find("pid"), std::string::npos);

    const auto text = hvmm({"switch", "status", "fwd"});
    EXPECT_EQ(text.status, 0);
    EXPECT_NE(text.out.find(net::to_string(station(0xB))), std::string::npos) << text.out;
}

TEST_F(SwitchCommand, DropsRuntsOversizeAndMulticastSourcesAndCountsThem) {
    start("drops");
    auto a = client("drops"), b = client("drops");
    status_with_ports("drops", 2);
    ASSERT_TRUE(a.send_frame(std::vector<uint8_t>(10, 0x11)));  // runt
    ASSERT_TRUE(a.send_frame(ethernet_frame(net::kBroadcastMac, station(1), 9100)));  // oversize
    MacAddress group = station(2);
    group.bytes[0] |= 1;
    ASSERT_TRUE(a.send_frame(ethernet_frame(net::kBroadcastMac, group)));
    const auto fine = ethernet_frame(net::kBroadcastMac, station(1));
    ASSERT_TRUE(a.send_frame(fine));
    EXPECT_EQ(b.read_frame(), fine);  // the port stays connected after its bad frames
    EXPECT_FALSE(b.read_frame(milliseconds(100)));
    const auto s = status("drops");
    EXPECT_EQ(s["drops"]["runt"], 1);
    EXPECT_EQ(s["drops"]["oversize"], 1);
    EXPECT_EQ(s["drops"]["multicast_source"], 1);
}

TEST_F(SwitchCommand, DhcpOffersFromThePoolAndHonoursReservations) {
    start("dhcp", {"--dhcp", "--reserve", "52:54:00:00:00:0c=192.168.76.50"});
    auto vm = client("dhcp");
    testing::ClientMessage discover;
    discover.mac = station(0x01);
    ASSERT_TRUE(vm.send_frame(testing::client_frame(discover)));
    auto frame = vm.read_frame();
    ASSERT_TRUE(frame);
    auto offer = testing::read_reply(*frame);
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->type(), 2);  // OFFER
    EXPECT_EQ(offer->yiaddr, net::Ipv4Address::of(192, 168, 76, 128));
    EXPECT_EQ(offer->address(54), net::Ipv4Address::of(192, 168, 76, 254));
    EXPECT_EQ(offer->address(3), net::Ipv4Address::of(192, 168, 76, 2));

    auto reserved_vm = client("dhcp");
    discover.mac = station(0x0c);
    discover.xid = 77;
    ASSERT_TRUE(reserved_vm.send_frame(testing::client_frame(discover)));
    // The first VM may see the broadcast DISCOVER flooded to it; the reserved one gets the offer.
    frame = reserved_vm.read_frame();
    ASSERT_TRUE(frame);
    offer = testing::read_reply(*frame);
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->xid, 77u);
    EXPECT_EQ(offer->yiaddr, net::Ipv4Address::of(192, 168, 76, 50));
}

// Binds a lease (DISCOVER, OFFER, REQUEST, ACK) and returns its address.
std::optional<net::Ipv4Address> bind_lease(SwitchClient& vm, const MacAddress& mac) {
    testing::ClientMessage message;
    message.mac = mac;
    if (!vm.send_frame(testing::client_frame(message)))
        return std::nullopt;
    std::optional<testing::Reply> offer;
    while (auto frame = vm.read_frame()) {
        offer = testing::read_reply(*frame);
        if (offer && offer->type() == 2)
            break;
    }
    if (!offer)
        return std::nullopt;
    message.type = 3;  // REQUEST
    message.requested = offer->yiaddr;
    message.server_id = offer->address(54);
    if (!vm.send_frame(testing::client_frame(message)))
        return std::nullopt;
    while (auto frame = vm.read_frame()) {
        const auto ack = testing::read_reply(*frame);
        if (ack && ack->type() == 5)
            return ack->yiaddr;
    }
    return std::nullopt;
}

std::optional<net::Ipv4Address> offered(SwitchClient& vm, const MacAddress& mac) {
    testing::ClientMessage message;
    message.mac = mac;
    if (!vm.send_frame(testing::client_frame(message)))
        return std::nullopt;
    while (auto frame = vm.read_frame()) {
        const auto offer = testing::read_reply(*frame);
        if (offer && offer->type() == 2)
            return offer->yiaddr;
    }
    return std::nullopt;
}

TEST_F(SwitchCommand, RestartKeepsTheLease) {
    start("keep", {"--dhcp", "--subnet", "10.9.8.0/24"});
    {
        auto vm = client("keep");
        EXPECT_EQ(bind_lease(vm, station(0x21)), net::Ipv4Address::of(10, 9, 8, 128));
        const auto s = status("keep");
        ASSERT_EQ(s["dhcp"]["leases"].size(), 1u);
        EXPECT_EQ(s["dhcp"]["leases"][0]["state"], "bound");
    }
    ASSERT_EQ(hvmm({"switch", "stop", "keep"}).status, 0);
    start("keep", {"--dhcp", "--subnet", "10.9.8.0/24"});
    auto vm = client("keep");
    // Another client asking first does not get the leased address; the owner gets it back.
    EXPECT_EQ(offered(vm, station(0x22)), net::Ipv4Address::of(10, 9, 8, 129));
    EXPECT_EQ(offered(vm, station(0x21)), net::Ipv4Address::of(10, 9, 8, 128));
}

TEST_F(SwitchCommand, AClientKilledMidFrameLeavesTheOthersWorking) {
    start("kill");
    auto a = client("kill"), b = client("kill"), c = client("kill");
    status_with_ports("kill", 3);
    const auto frame = ethernet_frame(net::kBroadcastMac, station(0xC), 500);
    const auto header = net::encode_stream_header(frame.size());
    ASSERT_TRUE(c.send_raw(header->data(), header->size()));
    ASSERT_TRUE(c.send_raw(frame.data(), 100));  // then it dies mid-frame
    c.close();
    status_with_ports("kill", 2);
    const auto hello = ethernet_frame(station(0xB), station(0xA));
    ASSERT_TRUE(a.send_frame(hello));
    EXPECT_EQ(b.read_frame(), hello);
    const auto back = ethernet_frame(station(0xA), station(0xB));
    ASSERT_TRUE(b.send_frame(back));
    EXPECT_EQ(a.read_frame(), back);
    const auto s = status("kill");
    EXPECT_EQ(s["drops"]["truncated_at_close"], 1);
    EXPECT_EQ(s["totals"]["ports_closed"], 1);
}

TEST_F(SwitchCommand, AStoppedClientDoesNotBlockTheOthers) {
    start("slow");
    auto a = client("slow"), b = client("slow"), stopped = client("slow");
    status_with_ports("slow", 3);
    constexpr int kFrames = 3000;  // 3 MB: far past the stopped client's socket and queue
    std::atomic<int> received{0};
    std::thread reader([&] {
        while (received < kFrames) {
            if (!b.read_frame(milliseconds(3000)))
                break;
            ++received;
        }
    });
    // A paced to what B reads (the switch drops for a port that lags, as any switch does; here
    // B keeps up, so every loss would be the stopped client's fault).
    for (int i = 0; i < kFrames; ++i) {
        ASSERT_TRUE(a.send_frame(ethernet_frame(net::kBroadcastMac, station(0xA), 1000)));
        for (int wait = 0; wait < 2000 && received < i + 1 - 64; ++wait) {
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    }
    reader.join();
    EXPECT_EQ(received, kFrames);
    const auto s = status("slow");
    const auto slow_port = port_of(s, "stream", 2);
    EXPECT_GT(slow_port["tx_queue_full"].get<uint64_t>(), 0u) << s.dump(1);
    EXPECT_GT(slow_port["queued_bytes"].get<uint64_t>(), 0u);
    EXPECT_EQ(s["drops"]["tx_queue_full"], slow_port["tx_queue_full"]);
    EXPECT_EQ(port_of(s, "stream", 1)["tx_queue_full"], 0);
}

TEST_F(SwitchCommand, AMacFloodDoesNotGrowTheTablePastItsCap) {
    start("flood");
    auto a = client("flood"), b = client("flood");
    status_with_ports("flood", 2);
    ASSERT_TRUE(b.send_frame(ethernet_frame(net::kBroadcastMac, station(0xB))));
    std::thread drain([&] { b.drain(milliseconds(1000)); });
    for (int i = 0; i < 3000; ++i) {
        const MacAddress source{{0x02, 0x00, 0x00, static_cast<uint8_t>(i >> 16),
                                 static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}};
        ASSERT_TRUE(a.send_frame(ethernet_frame(station(0xEE), source)));
    }
    drain.join();
    const auto s = status("flood");
    const auto& table = s["mac_table"];
    EXPECT_LE(table["size"].get<size_t>(), table["capacity"].get<size_t>());
    EXPECT_EQ(port_of(s, "stream", 0)["macs"], table["per_port_cap"]);
    EXPECT_GE(table["evicted"].get<uint64_t>(), 3000u - 1024u);
    // B's own entry survived A's flood.
    std::set<std::string> macs;
    for (const auto& entry : table["entries"]) macs.insert(entry["mac"]);
    EXPECT_TRUE(macs.contains(net::to_string(station(0xB))));
}

TEST_F(SwitchCommand, RandomBytesFromPeersNeverHurtTheSwitch) {
    start("fuzz", {"--dhcp"});
    auto a = client("fuzz"), b = client("fuzz");
    std::mt19937 random(4242);
    for (int trial = 0; trial < 40; ++trial) {
        auto garbage = client("fuzz");
        std::vector<uint8_t> bytes(1 + random() % 4096);
        for (auto& byte : bytes) byte = static_cast<uint8_t>(random());
        if (trial % 2 == 0) {
            bytes.resize(std::max<size_t>(bytes.size(), 64));
            bytes[0] = bytes[1] = 0;  // a plausible length, so random frames get forwarded
            bytes[2] = static_cast<uint8_t>(random() % 2);
        }
        garbage.send_raw(bytes.data(), bytes.size());
    }
    a.drain(milliseconds(100));
    b.drain(milliseconds(100));
    const auto hello = ethernet_frame(station(0xB), station(0xA));
    ASSERT_TRUE(a.send_frame(hello));
    std::optional<std::vector<uint8_t>> got;
    while ((got = b.read_frame()) && *got != hello) {
    }
    EXPECT_EQ(got, hello);
    const auto s = status("fuzz");
    EXPECT_GT(s["drops"]["bad_length_disconnects"].get<uint64_t>(), 0u);
}

TEST_F(SwitchCommand, ASigkilledSwitchIsCleanedUpAndStartsAgain) {
    start("crash");
    const pid_t pid = pid_of("crash");
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    wait_dead(pid);
    EXPECT_TRUE(exists(socket("crash")));  // left behind
    const auto list = hvmm({"switch", "list"});
    EXPECT_EQ(list.status, 0);
    EXPECT_EQ(list.out.find("crash"), std::string::npos) << list.out;
    EXPECT_FALSE(exists(socket("crash")));  // cleaned by list
    start("crash");
    auto vm = client("crash");
    EXPECT_EQ(status_with_ports("crash", 1)["ports"].size(), 1u);

    // Killed again, a start right away replaces the stale socket itself.
    const pid_t second = pid_of("crash");
    ASSERT_EQ(::kill(second, SIGKILL), 0);
    wait_dead(second);
    start("crash");
    EXPECT_EQ(hvmm({"switch", "stop", "crash"}).status, 0);
}

TEST_F(SwitchCommand, SigtermStopsCleanly) {
    start("term");
    const pid_t pid = pid_of("term");
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGTERM), 0);
    // Its files are gone by the time it has exited (however long a loaded host makes that).
    ASSERT_TRUE(wait_dead(pid)) << "the switch did not exit on SIGTERM";
    EXPECT_FALSE(exists(socket("term")));
    EXPECT_FALSE(exists(dir_ + "/term.pid"));
}

TEST_F(SwitchCommand, PcapRecordsEveryForwardedFrame) {
    const std::string capture = root_ + "/switch.pcap";
    start("cap", {"--pcap", capture});
    auto a = client("cap"), b = client("cap");
    status_with_ports("cap", 2);
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(a.send_frame(ethernet_frame(net::kBroadcastMac, station(0xA), 100 + i)));
        ASSERT_TRUE(b.read_frame());
    }
    ASSERT_TRUE(a.send_frame(std::vector<uint8_t>(5, 0)));  // a runt: dropped, not recorded
    ASSERT_EQ(hvmm({"switch", "stop", "cap"}).status, 0);
    const std::string bytes = test::read_whole_file(capture);
    ASSERT_GE(bytes.size(), 24u);
    uint32_t magic = 0, link_type = 0;
    std::memcpy(&magic, bytes.data(), 4);
    std::memcpy(&link_type, bytes.data() + 20, 4);
    EXPECT_EQ(magic, 0xA1B2C3D4u);
    EXPECT_EQ(link_type, 1u);
    size_t records = 0, at = 24;
    while (at + 16 <= bytes.size()) {
        uint32_t captured = 0;
        std::memcpy(&captured, bytes.data() + at + 8, 4);
        EXPECT_EQ(captured, 14u + 100 + records);
        at += 16 + captured;
        ++records;
    }
    EXPECT_EQ(at, bytes.size());
    EXPECT_EQ(records, 5u);
}

// /proc/PID/stat's field 41, the scheduling policy (after the command name, which may hold spaces).
int scheduling_policy(pid_t pid) {
    std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat_file)), {});
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    for (int number = 3; number <= 41; ++number) {  // field 3, the state, follows the name
        if (!(fields >> field)) {
            return -1;
        }
    }
    return std::stoi(field);
}

TEST_F(SwitchCommand, TheDaemonIsSchedBatchOnlyWhenAskedTo) {
    start("preempting");
    start("batched", {"--io-sched", "batch"});
    start("chosen", {"--io-sched", "auto"});
    EXPECT_EQ(scheduling_policy(pid_of("preempting")), SCHED_OTHER);
    EXPECT_EQ(scheduling_policy(pid_of("batched")), SCHED_BATCH);
    EXPECT_EQ(scheduling_policy(pid_of("chosen")), SCHED_OTHER);
}

TEST_F(SwitchCommand, BadOptionsAreOneLineErrors) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"switch", "start", "up", "--uplink", "tap:hvmm-no-such0"},
          {"switch", "start", "bad/name"},
          {"switch", "start", "net", "--subnet", "10.0.0.0/16", "--dhcp"},
          {"switch", "start", "net", "--reserve", "52:54:00:00:00:01=10.0.0.5"},
          {"switch", "start", "net", "--dhcp", "--reserve", "nonsense"},
          {"switch", "start", "net", "--io-sched", "fifo"},
          {"switch", "stop", "never-started"}}) {
        const auto result = hvmm(args);
        EXPECT_EQ(result.status, 1) << args[2];
        EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
    }
    // A failed start leaves nothing behind.
    EXPECT_FALSE(exists(socket("up")));
    EXPECT_FALSE(exists(dir_ + "/up.pid"));
}

}  // namespace
}  // namespace hvmm

namespace hvmm {
namespace {

using testing::SwitchCommand;

// The switch daemon's sandbox role: a forbidden call (the test hook) ends it with status 122 and
// the line naming the role and the call; its status while it runs shows the filter in force.
TEST_F(SwitchCommand, TheDaemonRunsInItsSandboxRole) {
    start("walled", {"--dhcp", "--nat"});
    const pid_t pid = pid_of("walled");
    ASSERT_GT(pid, 0);
    const std::string status = test::read_whole_file("/proc/" + std::to_string(pid) + "/status");
    EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << status;
    EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << status;
    EXPECT_NE(status.find("CapEff:\t0000000000000000"), std::string::npos) << status;
    EXPECT_EQ(hvmm({"switch", "stop", "walled"}).status, 0);

    auto environment = environment_;
    environment["HVMM_SANDBOX_SELFTEST"] = "switch";
    const auto stopped =
        test::run_process({HVMM_BINARY, "switch", "start", "hooked", "--foreground"}, environment);
    EXPECT_EQ(stopped.status, 122);
    EXPECT_NE(stopped.err.find("hvmm: sandbox: the switch thread called ptrace, which its role "
                               "does not allow; stopping (exit status 122)"),
              std::string::npos)
        << stopped.err;
    // With --sandbox off the hook is harmless: the daemon runs until stopped.
    started_.push_back("unhooked");
    const auto off = test::run_process(
        {HVMM_BINARY, "switch", "start", "unhooked", "--sandbox", "off"}, environment);
    ASSERT_EQ(off.status, 0) << off.err;
    EXPECT_EQ(hvmm({"switch", "stop", "unhooked"}).status, 0);
}

// Landlock: the daemon reaches its own files and /proc (a port's peer name), nothing else: the
// hook makes the sandboxed switch thread open a file and say whether it could.
TEST_F(SwitchCommand, TheDaemonReachesOnlyItsOwnFiles) {
    if (::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION) < 1)
        GTEST_SKIP() << "this kernel has no Landlock (not built, or not in its lsm= list)";
    const std::string secret = root_ + "/secret.txt";
    std::ofstream(secret) << "the user's key\n";
    auto hooked = [this](const std::string& path) {
        auto environment = environment_;
        environment["HVMM_SANDBOX_SELFTEST"] = "switch:read:" + path;
        return test::run_process(
            {HVMM_BINARY, "switch", "start", "fenced", "--foreground", "--dhcp", "--nat"},
            environment);
    };
    const auto refused = hooked(secret);
    EXPECT_EQ(refused.status, 0) << refused.err;
    EXPECT_NE(refused.err.find("hvmm: sandbox self-test: the switch thread could not read " +
                               secret + ": Permission denied"),
              std::string::npos)
        << refused.err;
    // What it may read: its own runtime directory's files, /proc, resolv.conf (with --nat).
    for (const std::string& allowed : {dir_ + "/fenced.lock", std::string("/proc/self/comm")}) {
        const auto read = hooked(allowed);
        EXPECT_EQ(read.status, 1) << allowed << ": " << read.err;
        EXPECT_NE(read.err.find("the switch thread read " + allowed), std::string::npos)
            << read.err;
    }
}

}  // namespace
}  // namespace hvmm
