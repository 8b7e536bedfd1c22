#include "stats/machine_stats.h"

#include <gtest/gtest.h>

namespace hvmm::stats {
namespace {

TEST(Stats, ExitsFromEveryVcpuAreMergedByKind) {
    MachineStats stats(2);
    stats.vcpu(0).record_exit(ExitKind::kIoOut, 100);
    stats.vcpu(0).record_exit(ExitKind::kIoOut, 50);
    stats.vcpu(1).record_exit(ExitKind::kIoOut, 25);
    stats.vcpu(1).record_exit(ExitKind::kMmioRead, 10);
    const Snapshot snapshot = stats.snapshot(true);
    EXPECT_EQ(snapshot.vcpu_count, 2u);
    EXPECT_EQ(snapshot.exits[static_cast<size_t>(ExitKind::kIoOut)].count, 3u);
    EXPECT_EQ(snapshot.exits[static_cast<size_t>(ExitKind::kIoOut)].ticks, 175u);
    EXPECT_EQ(snapshot.exits[static_cast<size_t>(ExitKind::kMmioRead)].count, 1u);
    EXPECT_EQ(snapshot.total_exits(), 4u);
}

TEST(Stats, PortsAndDevicesAreMergedAcrossVcpus) {
    MachineStats stats(2);
    stats.vcpu(0).record_port(0x3F8, "uart", 10);
    stats.vcpu(1).record_port(0x3F8, "uart", 20);
    stats.vcpu(1).record_port(0x3FD, "uart", 5);
    stats.vcpu(1).record_mmio("pcnet-mmio", 7);
    const Snapshot snapshot = stats.snapshot(true);
    EXPECT_EQ(snapshot.by_port.at(0x3F8).count, 2u);
    EXPECT_EQ(snapshot.by_port.at(0x3F8).ticks, 30u);
    EXPECT_EQ(snapshot.by_device.at("uart").count, 3u);
    EXPECT_EQ(snapshot.by_device.at("pcnet-mmio").count, 1u);
}

TEST(Stats, TablesAreLeftOutUnlessAskedFor) {
    MachineStats stats(1);
    stats.vcpu(0).record_port(0x80, "misc", 1);
    EXPECT_TRUE(stats.snapshot(false).by_port.empty());
}

TEST(Stats, RegisteredInterruptAndCounterSourcesAreReadAtSnapshotTime) {
    MachineStats stats(1);
    uint64_t interrupts = 3;
    stats.add_interrupt_source("gsi4 com1", [&] { return interrupts; });
    stats.add_counter("pcnet0.tx_frames", [] { return uint64_t{12}; });
    interrupts = 5;
    const Snapshot snapshot = stats.snapshot(false);
    EXPECT_EQ(snapshot.interrupts.at("gsi4 com1"), 5u);
    EXPECT_EQ(snapshot.counters.at("pcnet0.tx_frames"), 12u);
}

TEST(Stats, SyscallsAreCountedOnTheThreadWhoseSinkIsSet) {
    MachineStats stats(1);
    SyscallCounter* saved = syscall_sink;
    count_syscall();  // no sink on this thread: not attributed anywhere
    syscall_sink = &stats.vcpu(0).syscalls();
    count_syscall();
    count_syscall();
    const uint64_t during_exit = syscalls_so_far();
    syscall_sink = &stats.io_thread_syscalls();
    count_syscall();
    syscall_sink = saved;
    EXPECT_EQ(during_exit, 2u);
    const Snapshot snapshot = stats.snapshot(false);
    EXPECT_EQ(snapshot.vcpu_syscalls, 2u);
    EXPECT_EQ(snapshot.io_thread_syscalls, 1u);
}

TEST(Stats, ExitsCarryTheSyscallsTheirHandlersMade) {
    MachineStats stats(1);
    stats.vcpu(0).record_exit(ExitKind::kIoOut, 10, 1);
    stats.vcpu(0).record_exit(ExitKind::kIoOut, 10, 0);
    stats.vcpu(0).record_port(0xC010, "pcnet-io", 10, 1);
    const Snapshot snapshot = stats.snapshot(true);
    EXPECT_EQ(snapshot.exits[static_cast<size_t>(ExitKind::kIoOut)].syscalls, 1u);
    EXPECT_EQ(snapshot.by_port.at(0xC010).syscalls, 1u);
    EXPECT_EQ(to_json(snapshot)["exits"]["io_out"]["syscalls"], 1u);
}

TEST(Stats, CoalescedWritesAreCountedByPortAndDevice) {
    MachineStats stats(1);
    stats.vcpu(0).record_coalesced(0xC012, "pcnet-io");
    stats.vcpu(0).record_coalesced(0xC012, "pcnet-io");
    const Snapshot snapshot = stats.snapshot(true);
    EXPECT_EQ(snapshot.coalesced.count, 2u);
    EXPECT_EQ(snapshot.coalesced_by_port.at(0xC012), 2u);
    EXPECT_EQ(snapshot.total_exits(), 0u);  // none of them was a world switch
    EXPECT_EQ(to_json(snapshot)["coalesced"]["ports"]["0xc012"], 2u);
}

TEST(Stats, PacketCostsDivideByTransmittedFrames) {
    Snapshot snapshot;
    snapshot.exits[static_cast<size_t>(ExitKind::kIoOut)] = Tally{30, 0};
    snapshot.interrupts["gsi17 pcnet0"] = 5;
    snapshot.interrupts["gsi4 com1"] = 100;  // another device's line is not charged
    snapshot.counters["pcnet0.tx_frames"] = 10;
    snapshot.counters["pcnet0.rx_frames"] = 4;
    snapshot.vcpu_syscalls = 20;
    snapshot.io_thread_syscalls = 10;
    const auto costs = packet_costs(snapshot);
    ASSERT_EQ(costs.count("pcnet0"), 1u);
    const PacketCosts& nic = costs.at("pcnet0");
    EXPECT_EQ(nic.tx_frames, 10u);
    EXPECT_EQ(nic.rx_frames, 4u);
    EXPECT_DOUBLE_EQ(nic.exits_per_tx_frame, 3.0);
    EXPECT_DOUBLE_EQ(nic.interrupts_per_tx_frame, 0.5);
    EXPECT_DOUBLE_EQ(nic.vcpu_syscalls_per_tx_frame, 2.0);
    EXPECT_DOUBLE_EQ(nic.syscalls_per_tx_frame, 3.0);
    EXPECT_DOUBLE_EQ(to_json(snapshot)["packets"]["pcnet0"]["exits_per_tx_frame"], 3.0);
}

TEST(Stats, BackendCountersAreNamedPerNicAndAreNotNics) {
    EXPECT_EQ(backend_counter_name(0, "rx_oversize"), "net0.rx_oversize");
    EXPECT_EQ(backend_counter_name(12, "tx_frames"), "net12.tx_frames");
    EXPECT_TRUE(is_backend_counter("net0.tx_frames"));
    EXPECT_FALSE(is_backend_counter("pcnet0.tx_frames"));
    EXPECT_FALSE(is_backend_counter("network.tx_frames"));
    EXPECT_FALSE(is_backend_counter("net.tx_frames"));

    Snapshot snapshot;
    snapshot.counters["pcnet0.tx_frames"] = 10;
    snapshot.counters["net0.tx_frames"] = 10;
    snapshot.counters["net0.rx_oversize"] = 2;
    const auto costs = packet_costs(snapshot);
    EXPECT_EQ(costs.size(), 1u);
    EXPECT_EQ(costs.count("pcnet0"), 1u);
    EXPECT_NE(format_table(snapshot).find("net0.rx_oversize"), std::string::npos);
    EXPECT_EQ(to_json(snapshot)["counters"]["net0.rx_oversize"], 2u);
}

TEST(Stats, NoFramesMeansZeroNotInfinity) {
    Snapshot snapshot;
    snapshot.counters["pcnet0.tx_frames"] = 0;
    EXPECT_DOUBLE_EQ(packet_costs(snapshot).at("pcnet0").exits_per_tx_frame, 0.0);
}

TEST(Stats, JsonHasCountsAndMicroseconds) {
    Snapshot snapshot;
    snapshot.ticks_per_second = 1e6;  // one tick per microsecond
    snapshot.vcpu_count = 1;
    snapshot.exits[static_cast<size_t>(ExitKind::kIoOut)] = Tally{4, 40};
    snapshot.by_port[0x3F8] = Tally{4, 40};
    snapshot.by_device["uart"] = Tally{4, 40};
    snapshot.interrupts["gsi4 com1"] = 2;
    const nlohmann::json json = to_json(snapshot);
    EXPECT_EQ(json["total_exits"], 4);
    EXPECT_EQ(json["exits"]["io_out"]["count"], 4);
    EXPECT_DOUBLE_EQ(json["exits"]["io_out"]["total_us"].get<double>(), 40.0);
    EXPECT_DOUBLE_EQ(json["exits"]["io_out"]["mean_us"].get<double>(), 10.0);
    EXPECT_EQ(json["ports"]["0x03f8"]["count"], 4);
    EXPECT_EQ(json["devices"]["uart"]["count"], 4);
    EXPECT_EQ(json["interrupts"]["gsi4 com1"], 2);
    EXPECT_EQ(json["exits"]["hlt"]["count"], 0);
}

TEST(Stats, TableNamesTheExitKindsAndDevicesSeen) {
    MachineStats stats(1);
    stats.vcpu(0).record_exit(ExitKind::kIoOut, 1);
    stats.vcpu(0).record_port(0x3F8, "uart-16550a", 1);
    const std::string table = format_table(stats.snapshot(true));
    EXPECT_NE(table.find("io_out"), std::string::npos);
    EXPECT_NE(table.find("uart-16550a"), std::string::npos);
    EXPECT_NE(table.find("0x03f8"), std::string::npos);
    EXPECT_EQ(table.find("mmio_read"), std::string::npos);
}

}  // namespace
}  // namespace hvmm::stats
