// --nic's socket networks through open_backend, on real sockets in a temporary directory: the
// two ends of stream and dgram wires, a switch's socket found by name, pcap on every kind, and
// each backend's counters by cause in the machine's statistics.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "net/pcap_writer.h"
#include "net/recording_backend.h"
#include "net/socket/dgram_backend.h"
#include "net/socket/stream_backend.h"
#include "net_socket_test_peer.h"
#include "net_test_sink.h"
#include "stats/machine_stats.h"
#include "vmm/nic_backend_stats.h"
#include "vmm/nic_spec.h"

namespace hvmm {
namespace {

using testing::eventually;
using testing::LoopRig;
using testing::SharedSink;
using testing::TempDir;
using testing::test_frame;

std::unique_ptr<NetBackend> open(const std::string& text, unsigned index,
                                 const vmnet::SwitchEnvironment& environment = {}) {
    auto spec = parse_nic_spec(text, index);
    EXPECT_TRUE(spec) << text << ": " << spec.error().message;
    if (!spec) {
        return nullptr;
    }
    auto backend = open_backend(*spec, environment);
    EXPECT_TRUE(backend) << text << ": " << backend.error().message;
    return backend ? std::move(*backend) : nullptr;
}

// The records of a classic pcap file: checks the global header, returns each record's bytes.
std::vector<std::vector<uint8_t>> read_pcap(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    auto u32 = [&bytes](size_t at) {
        uint32_t value = 0;
        std::memcpy(&value, bytes.data() + at, 4);
        return value;
    };
    std::vector<std::vector<uint8_t>> records;
    EXPECT_GE(bytes.size(), 24u) << path;
    if (bytes.size() < 24) {
        return records;
    }
    EXPECT_EQ(u32(0), PcapWriter::kMagic);
    EXPECT_EQ(u32(20), PcapWriter::kLinkTypeEthernet);
    for (size_t at = 24; at + 16 <= bytes.size();) {
        const uint32_t captured = u32(at + 8);
        at += 16;
        EXPECT_LE(at + captured, bytes.size());
        records.emplace_back(bytes.begin() + at, bytes.begin() + at + captured);
        at += captured;
    }
    return records;
}

// Sends one frame each way between two backends that form one wire, each driven by its own
// loop, and checks both arrive: a to b first, then (once it arrived) b to a.
void exchange_frames(NetBackend& a, NetBackend& b) {
    SharedSink sink_a, sink_b;
    LoopRig rig_a(a, sink_a), rig_b(b, sink_b);
    ASSERT_TRUE(eventually([&] { return a.link_up() && b.link_up(); }));
    a.send(std::span<const uint8_t>(test_frame(1, 100)));
    ASSERT_TRUE(eventually([&] { return sink_b.frame_count() == 1; }));
    b.send(std::span<const uint8_t>(test_frame(2, 1514)));
    ASSERT_TRUE(eventually([&] { return sink_a.frame_count() == 1; }));
    EXPECT_EQ(sink_b.frames()[0], test_frame(1, 100));
    EXPECT_EQ(sink_a.frames()[0], test_frame(2, 1514));
}

TEST(NicBackendOpen, StreamListenAndStreamClientCarryFramesBothWaysAndRecordThem) {
    TempDir dir;
    const std::string socket = dir.file("wire.sock");
    auto listener = open(fmt::format("pcnet,net=stream-listen:{},pcap={}", socket,
                                     dir.file("listen.pcap")),
                         0);
    auto client = open(fmt::format("pcnet,net=stream:{},reconnect=1,pcap={}", socket,
                                   dir.file("client.pcap")),
                       1);
    ASSERT_TRUE(listener && client);
    ASSERT_NE(dynamic_cast<RecordingBackend*>(listener.get()), nullptr);
    EXPECT_EQ(listener->describe(), "stream-listen:" + socket);
    EXPECT_EQ(client->describe(), "stream:" + socket);
    exchange_frames(*listener, *client);
    listener.reset();
    client.reset();
    // Each capture holds both directions in the order they passed: 1 went out before 2.
    const std::vector expected{test_frame(1, 100), test_frame(2, 1514)};
    EXPECT_EQ(read_pcap(dir.file("listen.pcap")), expected);
    EXPECT_EQ(read_pcap(dir.file("client.pcap")), expected);
}

TEST(NicBackendOpen, DgramPairCarriesFramesBothWaysAndRecordsThem) {
    TempDir dir;
    const std::string a = dir.file("a.sock"), b = dir.file("b.sock");
    auto left = open(fmt::format("pcnet,net=dgram:{},{},pcap={}", a, b, dir.file("left.pcap")), 0);
    auto right = open(fmt::format("pcnet,net=dgram:{},{}", b, a), 1);
    ASSERT_TRUE(left && right);
    EXPECT_EQ(left->describe(), fmt::format("dgram:{},{}", a, b));
    exchange_frames(*left, *right);
    left.reset();
    EXPECT_EQ(read_pcap(dir.file("left.pcap")).size(), 2u);
}

TEST(NicBackendOpen, SwitchConnectsToTheNamedSwitchSocket) {
    TempDir dir;
    const vmnet::SwitchEnvironment environment{.xdg_runtime_dir = dir.file("run")};
    ::mkdir(dir.file("run").c_str(), 0700);
    ::mkdir(dir.file("run/hvmm").c_str(), 0700);
    // The switch daemon's side, played by a stream listener at the switch's socket.
    const std::string socket = dir.file("run/hvmm/lan.sock");
    auto fake_switch = StreamBackend::listen(socket);
    ASSERT_TRUE(fake_switch) << fake_switch.error().message;
    auto port = open("pcnet,net=switch:lan,pcap=" + dir.file("port.pcap"), 0, environment);
    ASSERT_TRUE(port);
    EXPECT_EQ(port->describe(), "stream:" + socket);
    exchange_frames(**fake_switch, *port);
    port.reset();
    EXPECT_EQ(read_pcap(dir.file("port.pcap")).size(), 2u);
}

TEST(NicBackendOpen, SwitchNotRunningAtStartIsOneLineNamingTheStartCommand) {
    TempDir dir;
    const vmnet::SwitchEnvironment environment{.xdg_runtime_dir = dir.file("run")};
    auto spec = parse_nic_spec("pcnet,net=switch:lan0", 0);
    ASSERT_TRUE(spec);
    auto port = open_backend(*spec, environment);
    ASSERT_FALSE(port);
    EXPECT_EQ(port.error().message, "no switch 'lan0': start it with `hvmm switch start lan0`");
}

TEST(NicBackendOpen, SwitchThatStopsTakesTheLinkDownAndBackUpWhenItReturns) {
    TempDir dir;
    const vmnet::SwitchEnvironment environment{.xdg_runtime_dir = dir.file("run")};
    ::mkdir(dir.file("run").c_str(), 0700);
    ::mkdir(dir.file("run/hvmm").c_str(), 0700);
    const std::string socket = dir.file("run/hvmm/lan.sock");
    auto fake_switch = StreamBackend::listen(socket);
    ASSERT_TRUE(fake_switch) << fake_switch.error().message;
    auto port = open("pcnet,net=switch:lan", 0, environment);
    ASSERT_TRUE(port);
    SharedSink sink;
    LoopRig rig(*port, sink);
    EXPECT_TRUE(eventually([&] { return port->link_up(); }));
    fake_switch->reset();  // the switch stops (its socket file goes with it)
    EXPECT_TRUE(eventually([&] { return !port->link_up(); }));
    // It comes back: the port finds it within its reconnect period.
    auto again = StreamBackend::listen(socket);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_TRUE(eventually([&] { return port->link_up(); }));
}

TEST(NicBackendOpen, SwitchWithoutReconnectMustFindItsSwitch) {
    TempDir dir;
    const vmnet::SwitchEnvironment environment{.xdg_runtime_dir = dir.file("run")};
    auto spec = parse_nic_spec("pcnet,net=switch:lan,reconnect=0", 0);
    ASSERT_TRUE(spec);
    auto port = open_backend(*spec, environment);
    ASSERT_FALSE(port);
    EXPECT_NE(port.error().message.find("--nic: switch 'lan': cannot connect to '" +
                                        dir.file("run/hvmm/lan.sock") + "'"),
              std::string::npos)
        << port.error().message;
    EXPECT_EQ(port.error().message.find('\n'), std::string::npos);
}

TEST(NicBackendOpen, StreamClientWithoutPeerOrReconnectFailsNamingThePath) {
    TempDir dir;
    auto spec = parse_nic_spec("pcnet,net=stream:" + dir.file("nobody.sock"), 0);
    ASSERT_TRUE(spec);
    auto backend = open_backend(*spec);
    ASSERT_FALSE(backend);
    EXPECT_NE(backend.error().message.find(dir.file("nobody.sock")), std::string::npos);
    EXPECT_NE(backend.error().message.find("reconnect="), std::string::npos);
}

// Counter names as --stats shows them, with their values.
std::map<std::string, uint64_t> backend_counters(const NetBackend& backend) {
    stats::MachineStats stats(1);
    add_backend_counters(stats, backend, 0);
    return stats.snapshot(false).counters;
}

TEST(NicBackendOpen, StreamCountersByCauseReachTheStatistics) {
    TempDir dir;
    const std::string socket = dir.file("s.sock");
    auto backend = open("pcnet,net=stream-listen:" + socket, 0);
    ASSERT_TRUE(backend);
    SharedSink sink;
    {
        LoopRig rig(*backend, sink);
        UniqueFd peer = testing::connect_to(socket);
        ASSERT_TRUE(peer);
        ASSERT_TRUE(eventually([&] { return backend->link_up(); }));
        testing::write_all(peer.get(), testing::framed(test_frame(1)));
        testing::write_all(peer.get(), testing::framed(std::vector<uint8_t>(10, 0)));  // a runt
        // A length no frame has: the backend drops it and closes the connection.
        testing::write_all(peer.get(), testing::length_prefix(1u << 20));
        ASSERT_TRUE(eventually([&] { return !backend->link_up(); }));
    }
    stats::MachineStats stats(1);
    add_backend_counters(stats, *backend, 0);
    const stats::Snapshot snapshot = stats.snapshot(false);
    EXPECT_EQ(snapshot.counters.at("net0.rx_frames"), 1u);
    EXPECT_EQ(snapshot.counters.at("net0.rx_bytes"), 60u);
    EXPECT_EQ(snapshot.counters.at("net0.rx_dropped"), 2u);
    EXPECT_EQ(snapshot.counters.at("net0.rx_runts"), 1u);
    EXPECT_EQ(snapshot.counters.at("net0.rx_oversize"), 1u);
    EXPECT_EQ(snapshot.counters.at("net0.connects"), 1u);
    EXPECT_EQ(snapshot.counters.at("net0.disconnects"), 1u);
    EXPECT_EQ(snapshot.counters.at("net0.tx_queue_full"), 0u);

    // --stats and --stats-json show them; a backend is not a NIC in the per-frame costs.
    const std::string table = stats::format_table(snapshot);
    EXPECT_NE(table.find("net0.rx_oversize"), std::string::npos) << table;
    const auto json = stats::to_json(snapshot);
    EXPECT_EQ(json["counters"]["net0.rx_runts"], 1u);
    EXPECT_FALSE(json["packets"].contains("net0"));
}

TEST(NicBackendOpen, DgramCountersByCauseReachTheStatisticsThroughARecorder) {
    TempDir dir;
    auto backend = open(fmt::format("pcnet,net=dgram:{},{},pcap={}", dir.file("a.sock"),
                                    dir.file("nobody.sock"), dir.file("c.pcap")),
                        2);
    ASSERT_TRUE(backend);
    backend->send(std::span<const uint8_t>(test_frame(1)));  // nobody bound at REMOTE
    stats::MachineStats stats(1);
    add_backend_counters(stats, *backend, 2);
    const auto counters = stats.snapshot(false).counters;
    EXPECT_EQ(counters.at("net2.tx_dropped"), 1u);
    EXPECT_EQ(counters.at("net2.tx_no_peer"), 1u);
    EXPECT_EQ(counters.at("net2.tx_frames"), 0u);
    EXPECT_EQ(counters.count("net2.rx_oversize"), 1u);
}

TEST(NicBackendOpen, OtherBackendsReportTheirSixTotals) {
    auto backend = open("pcnet,net=socketpair", 0);
    ASSERT_TRUE(backend);
    const auto counters = backend_counters(*backend);
    EXPECT_EQ(counters.size(), 6u);
    for (const char* name : {"net0.tx_frames", "net0.tx_bytes", "net0.tx_dropped",
                             "net0.rx_frames", "net0.rx_bytes", "net0.rx_dropped"}) {
        EXPECT_EQ(counters.count(name), 1u) << name;
    }
}

}  // namespace
}  // namespace hvmm
