// The learning switch's forwarding decision: flood until learned, then one port; hostile frames
// dropped and counted by cause; a port that leaves takes its addresses with it.
#include "vmnet/switch_fabric.h"

#include <gtest/gtest.h>

namespace hvmm::vmnet {
namespace {

using Kind = ForwardDecision::Kind;
using std::chrono::seconds;

const TimePoint kStart{};

MacAddress station(uint8_t n) {
    return MacAddress{{0x52, 0x54, 0, 0, 0, n}};
}

std::vector<uint8_t> frame(const MacAddress& destination, const MacAddress& source,
                           size_t length = 60) {
    std::vector<uint8_t> f(length, 0);
    std::copy(destination.bytes.begin(), destination.bytes.end(), f.begin());
    if (length >= 12)
        std::copy(source.bytes.begin(), source.bytes.end(), f.begin() + 6);
    return f;
}

TEST(VmnetSwitchFabric, UnknownDestinationFloodsThenLearnedOneGoesToItsPort) {
    SwitchFabric fabric;
    const PortId a = fabric.add_port(), b = fabric.add_port();
    fabric.add_port();
    auto d = fabric.forward(a, frame(station(2), station(1)), kStart);
    EXPECT_EQ(d.kind, Kind::kFlood);
    d = fabric.forward(b, frame(station(1), station(2)), kStart);
    EXPECT_EQ(d.kind, Kind::kUnicast);
    EXPECT_EQ(d.port, a);
    d = fabric.forward(a, frame(station(2), station(1)), kStart);
    EXPECT_EQ(d.kind, Kind::kUnicast);
    EXPECT_EQ(d.port, b);
    EXPECT_EQ(fabric.port_stats(a).flooded, 1u);
    EXPECT_EQ(fabric.port_stats(a).unicast, 1u);
    EXPECT_EQ(fabric.totals().rx_frames, 3u);
    EXPECT_EQ(fabric.totals().rx_bytes, 180u);
}

TEST(VmnetSwitchFabric, BroadcastAndMulticastDestinationsFlood) {
    SwitchFabric fabric;
    const PortId a = fabric.add_port();
    EXPECT_EQ(fabric.forward(a, frame(net::kBroadcastMac, station(1)), kStart).kind, Kind::kFlood);
    EXPECT_EQ(
        fabric.forward(a, frame(MacAddress{{0x33, 0x33, 0, 0, 0, 1}}, station(1)), kStart).kind,
        Kind::kFlood);
}

TEST(VmnetSwitchFabric, FrameForAStationOnTheSamePortIsFiltered) {
    SwitchFabric fabric;
    const PortId a = fabric.add_port();
    fabric.add_port();
    fabric.forward(a, frame(net::kBroadcastMac, station(1)), kStart);
    const auto d = fabric.forward(a, frame(station(1), station(3)), kStart);
    EXPECT_EQ(d.kind, Kind::kDrop);
    EXPECT_EQ(d.reason, SwitchDrop::kSamePort);
    EXPECT_EQ(fabric.port_stats(a).drops(SwitchDrop::kSamePort), 1u);
}

TEST(VmnetSwitchFabric, RuntsOversizeAndGroupSourcesAreDroppedAndNeverLearned) {
    SwitchFabric fabric({}, 1514);
    const PortId a = fabric.add_port();
    auto d = fabric.forward(a, frame(station(2), station(1), 13), kStart);
    EXPECT_EQ(d.reason, SwitchDrop::kRunt);
    d = fabric.forward(a, frame(station(2), station(1), 1515), kStart);
    EXPECT_EQ(d.reason, SwitchDrop::kOversize);
    d = fabric.forward(a, frame(station(2), MacAddress{{0x01, 0, 0x5E, 0, 0, 1}}), kStart);
    EXPECT_EQ(d.reason, SwitchDrop::kGroupSource);
    d = fabric.forward(a, frame(station(2), MacAddress{}), kStart);
    EXPECT_EQ(d.reason, SwitchDrop::kZeroSource);
    EXPECT_EQ(fabric.mac_table().size(), 0u);
    const auto stats = fabric.port_stats(a);
    EXPECT_EQ(stats.drops(SwitchDrop::kRunt), 1u);
    EXPECT_EQ(stats.drops(SwitchDrop::kOversize), 1u);
    EXPECT_EQ(stats.drops(SwitchDrop::kGroupSource), 1u);
    EXPECT_EQ(stats.drops(SwitchDrop::kZeroSource), 1u);
    EXPECT_EQ(stats.rx_frames, 0u);
    EXPECT_EQ(fabric.forward(a, frame(station(2), station(1), 14), kStart).kind, Kind::kFlood)
        << "a bare header is a frame: peers send unpadded frames";
    EXPECT_EQ(fabric.forward(a, frame(station(2), station(1), 1514), kStart).kind, Kind::kFlood);
}

TEST(VmnetSwitchFabric, FrameFromAnUnknownPortIsDropped) {
    SwitchFabric fabric;
    const auto d = fabric.forward(42, frame(station(2), station(1)), kStart);
    EXPECT_EQ(d.reason, SwitchDrop::kUnknownPort);
    EXPECT_EQ(fabric.totals().drops(SwitchDrop::kUnknownPort), 1u);
}

TEST(VmnetSwitchFabric, RemovedPortTakesItsAddressesAndItsIdIsNeverReused) {
    SwitchFabric fabric;
    const PortId a = fabric.add_port(), b = fabric.add_port();
    fabric.forward(a, frame(net::kBroadcastMac, station(1)), kStart);
    EXPECT_TRUE(fabric.remove_port(a));
    EXPECT_FALSE(fabric.remove_port(a));
    EXPECT_EQ(fabric.forward(b, frame(station(1), station(2)), kStart).kind, Kind::kFlood);
    const PortId c = fabric.add_port();
    EXPECT_NE(c, a);
    EXPECT_EQ(fabric.ports(), (std::vector<PortId>{b, c}));
    EXPECT_EQ(fabric.forward(a, frame(station(2), station(1)), kStart).reason,
              SwitchDrop::kUnknownPort);
}

TEST(VmnetSwitchFabric, StationMovingPortsIsFollowed) {
    SwitchFabric fabric;
    const PortId a = fabric.add_port(), b = fabric.add_port(), c = fabric.add_port();
    fabric.forward(a, frame(net::kBroadcastMac, station(1)), kStart);
    fabric.forward(b, frame(net::kBroadcastMac, station(1)), kStart + seconds(1));
    const auto d = fabric.forward(c, frame(station(1), station(3)), kStart + seconds(1));
    EXPECT_EQ(d.kind, Kind::kUnicast);
    EXPECT_EQ(d.port, b);
    EXPECT_EQ(fabric.mac_table().counters().moved, 1u);
}

TEST(VmnetSwitchFabric, MacFloodKeepsOtherPortsTrafficUnicast) {
    SwitchFabric fabric({.capacity = 64, .per_port_cap = 16});
    const PortId flooder = fabric.add_port(), a = fabric.add_port(), b = fabric.add_port();
    fabric.forward(a, frame(net::kBroadcastMac, station(1)), kStart);
    fabric.forward(b, frame(net::kBroadcastMac, station(2)), kStart);
    for (uint32_t i = 0; i < 10000; ++i) {
        const MacAddress random{{0x02, uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i), 0x77, 0}};
        fabric.forward(flooder, frame(net::kBroadcastMac, random), kStart + seconds(1));
    }
    EXPECT_LE(fabric.mac_table().size(), 64u);
    const auto d = fabric.forward(a, frame(station(2), station(1)), kStart + seconds(2));
    EXPECT_EQ(d.kind, Kind::kUnicast);
    EXPECT_EQ(d.port, b);
}

}  // namespace
}  // namespace hvmm::vmnet
