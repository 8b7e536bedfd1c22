// The learning switch's MAC table: learning, lookups, moves, aging, and the bounds that keep a
// MAC flood from one port from growing the table or pushing out the other ports' stations.
#include "vmnet/mac_table.h"

#include <gtest/gtest.h>

namespace hvmm::vmnet {
namespace {

using std::chrono::seconds;

const TimePoint kStart{};

MacAddress station(uint32_t n, uint8_t group = 0) {
    return MacAddress{{0x52, 0x54, group, uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)}};
}

TEST(VmnetMacTable, LearnedSourceIsFoundOnItsPort) {
    MacTable table;
    EXPECT_EQ(table.learn(station(1), 3, kStart), LearnOutcome::kLearned);
    EXPECT_EQ(table.lookup(station(1), kStart), 3u);
    EXPECT_EQ(table.size(), 1u);
    EXPECT_EQ(table.counters().learned, 1u);
}

TEST(VmnetMacTable, UnknownDestinationFloods) {
    MacTable table;
    table.learn(station(1), 3, kStart);
    EXPECT_EQ(table.lookup(station(2), kStart), std::nullopt);
}

TEST(VmnetMacTable, GroupDestinationsAlwaysFlood) {
    MacTable table;
    EXPECT_EQ(table.lookup(net::kBroadcastMac, kStart), std::nullopt);
    EXPECT_EQ(table.lookup(MacAddress{{0x01, 0x00, 0x5E, 0, 0, 1}}, kStart), std::nullopt);
}

TEST(VmnetMacTable, MulticastBroadcastAndZeroSourcesAreNeverLearned) {
    MacTable table;
    EXPECT_EQ(table.learn(MacAddress{{0x01, 0x00, 0x5E, 0, 0, 1}}, 1, kStart),
              LearnOutcome::kRefusedGroup);
    EXPECT_EQ(table.learn(net::kBroadcastMac, 1, kStart), LearnOutcome::kRefusedGroup);
    EXPECT_EQ(table.learn(MacAddress{}, 1, kStart), LearnOutcome::kRefusedZero);
    EXPECT_EQ(table.size(), 0u);
    EXPECT_EQ(table.counters().refused, 3u);
}

TEST(VmnetMacTable, SeeingAStationAgainRefreshesIt) {
    MacTable table({.max_age = seconds(10)});
    table.learn(station(1), 1, kStart);
    EXPECT_EQ(table.learn(station(1), 1, kStart + seconds(8)), LearnOutcome::kRefreshed);
    EXPECT_EQ(table.lookup(station(1), kStart + seconds(15)), 1u) << "age counts from the refresh";
    EXPECT_EQ(table.counters().learned, 1u);
}

TEST(VmnetMacTable, StationMovingPortsIsUpdatedAndCounted) {
    MacTable table;
    table.learn(station(1), 1, kStart);
    EXPECT_EQ(table.learn(station(1), 2, kStart + seconds(1)), LearnOutcome::kMoved);
    EXPECT_EQ(table.lookup(station(1), kStart + seconds(1)), 2u);
    EXPECT_EQ(table.port_size(1), 0u);
    EXPECT_EQ(table.port_size(2), 1u);
    EXPECT_EQ(table.size(), 1u);
    EXPECT_EQ(table.counters().moved, 1u);
}

TEST(VmnetMacTable, EntriesOlderThanTheAgeLimitAreGone) {
    MacTable table({.max_age = seconds(300)});
    table.learn(station(1), 1, kStart);
    EXPECT_EQ(table.lookup(station(1), kStart + seconds(299)), 1u);
    EXPECT_EQ(table.lookup(station(1), kStart + seconds(300)), std::nullopt);
    EXPECT_EQ(table.size(), 0u) << "an aged entry found by a lookup is dropped";
    EXPECT_EQ(table.counters().expired, 1u);
}

TEST(VmnetMacTable, ExpireSweepsOnlyAgedEntries) {
    MacTable table({.max_age = seconds(10)});
    table.learn(station(1), 1, kStart);
    table.learn(station(2), 2, kStart + seconds(5));
    table.learn(station(3), 1, kStart + seconds(6));
    EXPECT_EQ(table.expire(kStart + seconds(12)), 1u);
    EXPECT_EQ(table.size(), 2u);
    EXPECT_EQ(table.lookup(station(2), kStart + seconds(12)), 2u);
    EXPECT_EQ(table.lookup(station(3), kStart + seconds(12)), 1u);
    EXPECT_EQ(table.expire(kStart + seconds(100)), 2u);
    EXPECT_EQ(table.size(), 0u);
}

TEST(VmnetMacTable, AgedStationSeenOnAnotherPortIsLearnedNotMoved) {
    MacTable table({.max_age = seconds(10)});
    table.learn(station(1), 1, kStart);
    EXPECT_EQ(table.learn(station(1), 2, kStart + seconds(20)), LearnOutcome::kLearned);
    EXPECT_EQ(table.counters().moved, 0u);
}

TEST(VmnetMacTable, PortAtItsCapLosesItsOwnOldestEntry) {
    MacTable table({.capacity = 100, .per_port_cap = 4});
    for (uint32_t i = 0; i < 4; ++i) table.learn(station(i), 1, kStart + seconds(i));
    table.learn(station(4), 1, kStart + seconds(4));
    EXPECT_EQ(table.port_size(1), 4u);
    EXPECT_EQ(table.lookup(station(0), kStart + seconds(4)), std::nullopt) << "the oldest went";
    EXPECT_EQ(table.lookup(station(4), kStart + seconds(4)), 1u);
    EXPECT_EQ(table.counters().evicted, 1u);
}

TEST(VmnetMacTable, RefreshedEntryIsNotTheOneEvicted) {
    MacTable table({.capacity = 100, .per_port_cap = 2});
    table.learn(station(0), 1, kStart);
    table.learn(station(1), 1, kStart + seconds(1));
    table.learn(station(0), 1, kStart + seconds(2));  // now station(1) is the oldest
    table.learn(station(2), 1, kStart + seconds(3));
    EXPECT_EQ(table.lookup(station(0), kStart + seconds(3)), 1u);
    EXPECT_EQ(table.lookup(station(1), kStart + seconds(3)), std::nullopt);
}

TEST(VmnetMacTable, MacFloodFromOnePortNeitherGrowsTheTableNorEvictsOthers) {
    MacTable table({.capacity = 64, .per_port_cap = 16});
    for (uint32_t port = 2; port <= 4; ++port) {
        for (uint32_t i = 0; i < 10; ++i) table.learn(station(i, uint8_t(port)), port, kStart);
    }
    // Port 1 floods a hundred thousand random-looking source addresses.
    for (uint32_t i = 0; i < 100000; ++i) {
        table.learn(station(i * 2654435761u, 1), 1, kStart + seconds(1));
    }
    EXPECT_LE(table.size(), 64u);
    EXPECT_EQ(table.port_size(1), 16u);
    for (uint32_t port = 2; port <= 4; ++port) {
        EXPECT_EQ(table.port_size(port), 10u);
        for (uint32_t i = 0; i < 10; ++i) {
            EXPECT_EQ(table.lookup(station(i, uint8_t(port)), kStart + seconds(2)), port);
        }
    }
}

TEST(VmnetMacTable, FullTableTakesFromTheLargestPortNotTheSmallOnes) {
    // Per-port caps that add up to more than the table: the table's own bound decides.
    MacTable table({.capacity = 10, .per_port_cap = 10});
    for (uint32_t i = 0; i < 3; ++i) table.learn(station(i, 2), 2, kStart);
    for (uint32_t i = 0; i < 7; ++i) table.learn(station(i, 1), 1, kStart + seconds(1));
    ASSERT_EQ(table.size(), 10u);
    // A new station on the small port 2 takes port 1's oldest, not one of port 2's own.
    table.learn(station(3, 2), 2, kStart + seconds(2));
    EXPECT_EQ(table.size(), 10u);
    EXPECT_EQ(table.port_size(1), 6u);
    EXPECT_EQ(table.port_size(2), 4u);
    // Port 1 flooding back can take port 2 down only to its own count: a fair share.
    for (uint32_t i = 100; i < 200; ++i) table.learn(station(i, 1), 1, kStart + seconds(3));
    EXPECT_EQ(table.size(), 10u);
    EXPECT_GE(table.port_size(2), 4u);
    EXPECT_EQ(table.counters().evicted, 1u + 100u);
}

TEST(VmnetMacTable, FullTableReusesAgedEntriesBeforeEvictingLiveOnes) {
    MacTable table({.capacity = 4, .per_port_cap = 4, .max_age = seconds(10)});
    table.learn(station(0), 1, kStart);
    for (uint32_t i = 1; i < 4; ++i) table.learn(station(i), 2, kStart + seconds(8));
    table.learn(station(9), 3, kStart + seconds(11));
    EXPECT_EQ(table.size(), 4u);
    EXPECT_EQ(table.counters().expired, 1u);
    EXPECT_EQ(table.counters().evicted, 0u);
    for (uint32_t i = 1; i < 4; ++i) EXPECT_EQ(table.lookup(station(i), kStart + seconds(11)), 2u);
}

TEST(VmnetMacTable, ForgettingAPortDropsItsEntriesOnly) {
    MacTable table;
    table.learn(station(1), 1, kStart);
    table.learn(station(2), 1, kStart);
    table.learn(station(3), 2, kStart);
    table.forget_port(1);
    EXPECT_EQ(table.size(), 1u);
    EXPECT_EQ(table.lookup(station(1), kStart), std::nullopt);
    EXPECT_EQ(table.lookup(station(3), kStart), 2u);
    table.forget_port(7);  // never seen: nothing happens
    EXPECT_EQ(table.size(), 1u);
}

TEST(VmnetMacTable, EntriesListsLiveStationsSortedByAddress) {
    MacTable table({.max_age = seconds(10)});
    table.learn(station(3), 1, kStart + seconds(5));
    table.learn(station(1), 2, kStart + seconds(6));
    table.learn(station(2), 1, kStart);
    const auto entries = table.entries(kStart + seconds(12));
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].mac, station(1));
    EXPECT_EQ(entries[0].port, 2u);
    EXPECT_EQ(entries[1].mac, station(3));
    EXPECT_EQ(entries[1].last_seen, kStart + seconds(5));
}

TEST(VmnetMacTable, ZeroSizedConfigurationStillHoldsOneEntry) {
    MacTable table({.capacity = 0, .per_port_cap = 0});
    table.learn(station(1), 1, kStart);
    table.learn(station(2), 2, kStart);
    EXPECT_EQ(table.size(), 1u);
    EXPECT_EQ(table.lookup(station(2), kStart), 2u);
}

}  // namespace
}  // namespace hvmm::vmnet
