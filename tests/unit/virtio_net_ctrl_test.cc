// virtio-net's control queue: receive modes and MAC filter tables, and the filter they set on
// received frames.
#include <gtest/gtest.h>

#include "virtio_net_test_rig.h"

namespace hvmm::virtio::testing {
namespace {

constexpr MacAddress kMulticast{{0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB}};
constexpr MacAddress kOtherMulticast{{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}};
constexpr MacAddress kBroadcast{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};

std::vector<uint8_t> on(bool value) {
    return {static_cast<uint8_t>(value)};
}

// VIRTIO_NET_CTRL_MAC_TABLE_SET's data: le32 count and addresses, unicast then multicast.
std::vector<uint8_t> tables(std::span<const MacAddress> unicast,
                            std::span<const MacAddress> multicast) {
    std::vector<uint8_t> data;
    for (auto table : {unicast, multicast}) {
        const auto count = static_cast<uint32_t>(table.size());
        data.insert(data.end(), reinterpret_cast<const uint8_t*>(&count),
                    reinterpret_cast<const uint8_t*>(&count) + 4);
        for (const MacAddress& mac : table)
            data.insert(data.end(), mac.bytes.begin(), mac.bytes.end());
    }
    return data;
}

struct FilterRig : NetRig {
    FilterRig() {
        activate();
        post_rx(64, 2048);
        kick(ns::kRxQueue);
    }
    // Whether a frame to destination reaches the guest.
    bool passes(const MacAddress& destination) {
        const uint16_t before = rx().used_idx();
        backend.inject(frame_to(destination, 60));
        return rx().used_idx() != before;
    }
};

TEST(VirtioNetCtrl, PromiscuousUntilTheDriverSaysOtherwise) {
    FilterRig rig;
    EXPECT_TRUE(rig.passes(kOtherMac));
    EXPECT_TRUE(rig.device->rx_filter().promiscuous());
}

TEST(VirtioNetCtrl, PromiscuousOffPassesOwnAddressAndBroadcastOnly) {
    FilterRig rig;
    EXPECT_EQ(rig.command(ns::kCtrlClassRx, ns::kCtrlRxPromisc, on(false)), ns::kCtrlOk);
    EXPECT_TRUE(rig.passes(kNicMac));
    EXPECT_TRUE(rig.passes(kBroadcast));
    EXPECT_FALSE(rig.passes(kOtherMac));
    EXPECT_FALSE(rig.passes(kMulticast));
    EXPECT_EQ(rig.device->counters().rx_dropped_filtered, 2u);
    // `ip link set eth0 promisc on`
    EXPECT_EQ(rig.command(ns::kCtrlClassRx, ns::kCtrlRxPromisc, on(true)), ns::kCtrlOk);
    EXPECT_TRUE(rig.passes(kOtherMac));
    EXPECT_TRUE(rig.passes(kMulticast));
}

TEST(VirtioNetCtrl, AllMulticastPassesEveryGroupAddress) {
    FilterRig rig;
    rig.command(ns::kCtrlClassRx, ns::kCtrlRxPromisc, on(false));
    EXPECT_EQ(rig.command(ns::kCtrlClassRx, ns::kCtrlRxAllmulti, on(true)), ns::kCtrlOk);
    EXPECT_TRUE(rig.passes(kMulticast));
    EXPECT_TRUE(rig.passes(kOtherMulticast));
    EXPECT_FALSE(rig.passes(kOtherMac));
}

TEST(VirtioNetCtrl, MacTablesPassTheirAddresses) {
    FilterRig rig;
    rig.command(ns::kCtrlClassRx, ns::kCtrlRxPromisc, on(false));
    const MacAddress unicast[] = {kOtherMac};
    const MacAddress multicast[] = {kMulticast};
    EXPECT_EQ(rig.command(ns::kCtrlClassMac, ns::kCtrlMacTableSet, tables(unicast, multicast)),
              ns::kCtrlOk);
    EXPECT_TRUE(rig.passes(kOtherMac));
    EXPECT_TRUE(rig.passes(kMulticast));
    EXPECT_FALSE(rig.passes(kOtherMulticast));
    EXPECT_TRUE(rig.passes(kNicMac));
    EXPECT_EQ(rig.device->rx_filter().unicast_entries(), 1u);
}

TEST(VirtioNetCtrl, ATableLongerThanTheFilterHoldsPassesAllOfItsKind) {
    FilterRig rig;
    rig.command(ns::kCtrlClassRx, ns::kCtrlRxPromisc, on(false));
    std::vector<MacAddress> many(RxFilter::kMaxTableEntries + 1, kMulticast);
    for (size_t i = 0; i < many.size(); ++i) many[i].bytes[5] = static_cast<uint8_t>(i);
    EXPECT_EQ(rig.command(ns::kCtrlClassMac, ns::kCtrlMacTableSet, tables({}, many)), ns::kCtrlOk);
    EXPECT_TRUE(rig.device->rx_filter().multicast_overflow());
    EXPECT_TRUE(rig.passes(kOtherMulticast));
    EXPECT_FALSE(rig.passes(kOtherMac));
}

TEST(VirtioNetCtrl, TableCountBeyondTheBytesPresentIsAnError) {
    FilterRig rig;
    auto data = tables({}, {});
    data[0] = 0xFF, data[1] = 0xFF, data[2] = 0xFF, data[3] = 0xFF;  // 4 G entries
    EXPECT_EQ(rig.command(ns::kCtrlClassMac, ns::kCtrlMacTableSet, data), ns::kCtrlErr);
    const MacAddress one[] = {kOtherMac};
    auto short_multicast = tables(one, one);
    short_multicast.pop_back();  // the last address is a byte short
    EXPECT_EQ(rig.command(ns::kCtrlClassMac, ns::kCtrlMacTableSet, short_multicast), ns::kCtrlErr);
    EXPECT_EQ(rig.device->rx_filter().unicast_entries(), 0u) << "nothing half-applied";
    EXPECT_EQ(rig.device->counters().ctrl_errors, 2u);
}

TEST(VirtioNetCtrl, MacAddrSetChangesTheAddressAndTheConfiguration) {
    FilterRig rig;
    rig.command(ns::kCtrlClassRx, ns::kCtrlRxPromisc, on(false));
    EXPECT_EQ(rig.command(ns::kCtrlClassMac, ns::kCtrlMacAddrSet, kOtherMac.bytes), ns::kCtrlOk);
    EXPECT_EQ(rig.device->mac(), kOtherMac);
    std::array<uint8_t, 6> config{};
    rig.device->read_config(ns::kConfigMacOffset, config);
    EXPECT_EQ(config, kOtherMac.bytes);
    EXPECT_TRUE(rig.passes(kOtherMac));
    EXPECT_FALSE(rig.passes(kNicMac));
    EXPECT_EQ(rig.command(ns::kCtrlClassMac, ns::kCtrlMacAddrSet, kMulticast.bytes), ns::kCtrlErr);
    // A reset brings back the address the NIC was made with.
    rig.reset();
    EXPECT_EQ(rig.device->mac(), kNicMac);
}

TEST(VirtioNetCtrl, ExtraModesNeedTheirFeatureAndFilterAsNamed) {
    FilterRig rig;
    rig.command(ns::kCtrlClassRx, ns::kCtrlRxPromisc, on(false));
    EXPECT_EQ(rig.command(ns::kCtrlClassRx, ns::kCtrlRxNobcast, on(true)), ns::kCtrlOk);
    EXPECT_FALSE(rig.passes(kBroadcast));
    EXPECT_EQ(rig.command(ns::kCtrlClassRx, ns::kCtrlRxAlluni, on(true)), ns::kCtrlOk);
    EXPECT_TRUE(rig.passes(kOtherMac));
    EXPECT_EQ(rig.command(ns::kCtrlClassRx, ns::kCtrlRxNouni, on(true)), ns::kCtrlOk);
    EXPECT_FALSE(rig.passes(kNicMac));
    rig.command(ns::kCtrlClassRx, ns::kCtrlRxAllmulti, on(true));
    EXPECT_EQ(rig.command(ns::kCtrlClassRx, ns::kCtrlRxNomulti, on(true)), ns::kCtrlOk);
    EXPECT_FALSE(rig.passes(kMulticast));

    NetRig plain;
    plain.activate(plain.device->device_features() & ~ns::kCtrlRxExtra);
    EXPECT_EQ(plain.command(ns::kCtrlClassRx, ns::kCtrlRxNobcast, on(true)), ns::kCtrlErr);
    EXPECT_EQ(plain.command(ns::kCtrlClassRx, ns::kCtrlRxPromisc, on(false)), ns::kCtrlOk);
}

TEST(VirtioNetCtrl, CommandsWithoutTheirFeatureOrDataAreErrors) {
    NetRig rig;
    rig.activate(rig.device->device_features() & ~(ns::kCtrlRx | ns::kCtrlRxExtra));
    EXPECT_EQ(rig.command(ns::kCtrlClassRx, ns::kCtrlRxPromisc, on(false)), ns::kCtrlErr);
    EXPECT_TRUE(rig.device->rx_filter().promiscuous());
    EXPECT_EQ(rig.command(ns::kCtrlClassMac, ns::kCtrlMacAddrSet, kOtherMac.bytes), ns::kCtrlOk);
    EXPECT_EQ(rig.command(7, 0, {}), ns::kCtrlErr);
    EXPECT_EQ(rig.command(ns::kCtrlClassMac, ns::kCtrlMacAddrSet, {}), ns::kCtrlErr);
}

TEST(VirtioNetCtrl, ChainWithoutRoomForTheAckIsReturnedAndCounted) {
    NetRig rig;
    rig.activate();
    const uint64_t at = rig.ctrl().alloc(3);
    rig.ctrl().fill(at, std::vector<uint8_t>{ns::kCtrlClassRx, ns::kCtrlRxPromisc, 0});
    rig.ctrl().add_chain({{at, 3}});
    rig.device->service_queue(ns::kCtrlQueue);
    EXPECT_EQ(rig.ctrl().used_idx(), 1);
    EXPECT_EQ(rig.ctrl().used(0).len, 0u);
    EXPECT_EQ(rig.device->counters().ctrl_malformed_chains, 1u);
    EXPECT_EQ(rig.interrupt.used[ns::kCtrlQueue], 1u);
}

}  // namespace
}  // namespace hvmm::virtio::testing
