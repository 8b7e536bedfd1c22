// virtio-net as a VirtioDevice: features with and without a vnet-header backend, the
// configuration and link status, activation and reset (mid-traffic too), the kick watches on a
// running event loop.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "devices/virtio/net/vnet_header.h"
#include "virtio_net_test_rig.h"

namespace hvmm::virtio::testing {
namespace {

TEST(VirtioNetDevice, IdentifiesAsANetworkCardWithThreeQueues) {
    NetRig rig;
    EXPECT_EQ(rig.device->device_type(), 1);
    EXPECT_EQ(rig.device->pci_class_code(), 0x020000u);
    EXPECT_EQ(rig.device->queue_count(), 3);
    EXPECT_EQ(rig.device->max_queue_size(ns::kRxQueue), 256);
    EXPECT_EQ(rig.device->max_queue_size(ns::kCtrlQueue), 64);
}

TEST(VirtioNetDevice, WithoutAVnetHeaderBackendOnlyTheChecksumIsOffered) {
    NetRig rig;
    const uint64_t features = rig.device->device_features();
    // CSUM: the device completes a partial checksum itself; it does not segment.
    EXPECT_EQ(features & ns::kOffloadFeatures, ns::kCsum);
    for (uint64_t wanted :
         {ns::kMac, ns::kStatus, ns::kMrgRxbuf, ns::kCtrlVq, ns::kCtrlRx, ns::kCtrlRxExtra,
          ns::kCtrlMacAddr, kFeatureVersion1, kFeatureEventIdx, kFeatureIndirectDesc}) {
        EXPECT_TRUE(features & wanted) << std::hex << wanted;
    }
    EXPECT_FALSE(features & ns::kMtu) << "no MTU configured";
    EXPECT_FALSE(features & (ns::kGuestUfo | ns::kHostUfo | ns::kMq | ns::kCtrlVlan));
    rig.activate();
    EXPECT_TRUE(rig.backend.receive_offloads.empty()) << "nothing to tell such a backend";
}

TEST(VirtioNetDevice, WithAVnetHeaderBackendOffloadsAreOfferedAndFollowTheGuest) {
    NetRig rig(12);
    EXPECT_EQ(rig.device->device_features() & ns::kOffloadFeatures, ns::kOffloadFeatures);
    rig.activate(rig.device->device_features() & ~(ns::kGuestTso6 | ns::kGuestEcn));
    ASSERT_EQ(rig.backend.receive_offloads.size(), 1u);
    EXPECT_EQ(rig.backend.receive_offloads[0],
              (net::NetOffloads{.checksum = true, .tso4 = true, .tso6 = false, .tso_ecn = false}));
    rig.reset();
    ASSERT_EQ(rig.backend.receive_offloads.size(), 2u);
    EXPECT_EQ(rig.backend.receive_offloads[1], net::NetOffloads{}) << "reset takes them back";
}

TEST(VirtioNetDevice, FeatureSetsBreakingTheSpecsDependenciesAreRefused) {
    NetRig rig(12);
    const uint64_t all = rig.device->device_features();
    EXPECT_TRUE(rig.device->accept_features(all));
    EXPECT_FALSE(rig.device->accept_features(all & ~kFeatureVersion1));
    EXPECT_FALSE(rig.device->accept_features(all & ~ns::kGuestCsum));  // GUEST_TSO4 needs it
    EXPECT_FALSE(rig.device->accept_features(all & ~ns::kCsum));
    EXPECT_FALSE(rig.device->accept_features(all & ~ns::kCtrlVq));
    EXPECT_FALSE(rig.device->accept_features(all & ~ns::kCtrlRx));  // CTRL_RX_EXTRA needs it
    EXPECT_TRUE(rig.device->accept_features(kFeatureVersion1));
    EXPECT_EQ(missing_feature_dependency(ns::kGuestEcn | ns::kGuestCsum),
              "GUEST_ECN without GUEST_TSO4 or GUEST_TSO6");
}

TEST(VirtioNetDevice, ConfigurationHoldsMacLinkStatusAndTheConfiguredMtu) {
    NetRig rig(0, {.mac = kNicMac, .mtu = 9000});
    EXPECT_TRUE(rig.device->device_features() & ns::kMtu);
    EXPECT_EQ(rig.device->config_size(), 12u);
    std::array<uint8_t, 12> config{};
    rig.device->read_config(0, config);
    EXPECT_TRUE(std::equal(kNicMac.bytes.begin(), kNicMac.bytes.end(), config.begin()));
    EXPECT_EQ(config[6] | config[7] << 8, ns::kStatusLinkUp);
    EXPECT_EQ(config[8] | config[9] << 8, 1);
    EXPECT_EQ(config[10] | config[11] << 8, 9000);
    std::array<uint8_t, 2> status{};
    rig.device->read_config(ns::kConfigStatusOffset, status);
    EXPECT_EQ(status[0], ns::kStatusLinkUp);
    rig.device->write_config(0, std::array<uint8_t, 6>{1, 2, 3, 4, 5, 6});
    EXPECT_EQ(rig.device->mac(), kNicMac);
    EXPECT_EQ(rig.device->counters().config_writes_ignored, 1u);
}

TEST(VirtioNetDevice, MtuBelowIpv4sMinimumOrABadQueueSizeIsRefused) {
    hvmm::testing::FakeNetBackend backend;
    auto loop = std::move(*EventLoop::create());
    EXPECT_FALSE(VirtioNet::create(backend, *loop, {.mac = kNicMac, .mtu = 60}).has_value());
    EXPECT_FALSE(VirtioNet::create(backend, *loop, {.mac = kNicMac, .queue_size = 100}));
}

TEST(VirtioNetDevice, LinkChangeUpdatesStatusAndSignalsAConfigurationChange) {
    NetRig rig;
    rig.backend.sink()->link_changed(false);  // before activation: no notification
    EXPECT_EQ(rig.interrupt.config, 0u);
    rig.activate();
    std::array<uint8_t, 2> status{};
    rig.device->read_config(ns::kConfigStatusOffset, status);
    EXPECT_EQ(status[0], 0);
    rig.backend.sink()->link_changed(true);
    EXPECT_EQ(rig.interrupt.config, 1u);
    rig.device->read_config(ns::kConfigStatusOffset, status);
    EXPECT_EQ(status[0], ns::kStatusLinkUp);
    rig.backend.sink()->link_changed(true);  // no change, no notification
    EXPECT_EQ(rig.interrupt.config, 1u);
    EXPECT_EQ(rig.device->counters().config_changes, 1u);
}

TEST(VirtioNetDevice, WithoutStatusNegotiatedALinkChangeIsNotSignalled) {
    NetRig rig;
    rig.activate(rig.device->device_features() & ~ns::kStatus);
    rig.backend.sink()->link_changed(false);
    EXPECT_EQ(rig.interrupt.config, 0u);
}

TEST(VirtioNetDevice, ResetMidTrafficStopsTheQueuesAndAFreshActivationWorks) {
    NetRig rig;
    rig.activate();
    rig.post_rx(1, 4096);
    rig.kick(ns::kRxQueue);
    rig.backend.inject(frame_to(kNicMac, 10000));  // held: one buffer is not enough
    for (int i = 0; i < 3; ++i) rig.post_tx(frame_to(kOtherMac, 60));
    rig.reset();
    EXPECT_FALSE(rig.device->active());
    rig.device->service_queue(ns::kTxQueue);
    rig.device->service_queue(ns::kRxQueue);
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_EQ(rig.device->counters().rx_dropped_not_ready, 1u) << "the held frame";
    EXPECT_EQ(rig.backend.inject(frame_to(kNicMac, 60)), 0u);

    // The driver starts over with fresh rings.
    rig.new_drivers(256);
    rig.activate();
    rig.post_rx(1, 2048);
    rig.kick(ns::kRxQueue);
    EXPECT_EQ(rig.rx().used_idx(), 1) << "the frame that waited in the backend";
    rig.post_tx(frame_to(kOtherMac, 60));
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 1u);
}

TEST(VirtioNetDevice, NamedCountsKeepTheirNamesAndOrder) {
    NetRig rig;
    const auto first = rig.device->named_counts();
    rig.activate();
    rig.post_tx(frame_to(kOtherMac, 60));
    rig.kick(ns::kTxQueue);
    const auto second = rig.device->named_counts();
    ASSERT_EQ(first.size(), second.size());
    for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].name, second[i].name);
    EXPECT_EQ(second[0].name, "tx_frames");
    EXPECT_EQ(second[0].value, 1u);
}

// The kick eventfds are watched on the event loop: a signal alone (as KVM's ioeventfd gives)
// makes the I/O thread drain the queue; after reset it no longer does.
TEST(VirtioNetDevice, KicksOnTheEventLoopDrainTheQueueUntilReset) {
    NetRig rig;
    rig.activate();
    std::thread io([&rig] { rig.loop->run(); });
    auto wait_for = [&rig](uint64_t frames) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (rig.device->counters().tx_frames < frames &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return rig.device->counters().tx_frames;
    };
    rig.post_tx(frame_to(kOtherMac, 60));
    rig.kicks[ns::kTxQueue].signal();
    EXPECT_EQ(wait_for(1), 1u);
    rig.device->reset();  // from this thread, as a vCPU would
    rig.post_tx(frame_to(kOtherMac, 60));
    rig.kicks[ns::kTxQueue].signal();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(rig.device->counters().tx_frames, 1u);
    EXPECT_EQ(rig.kicks[ns::kTxQueue].consume(), 1u) << "nobody reads the kick any more";
    rig.loop->stop();
    io.join();
}

}  // namespace
}  // namespace hvmm::virtio::testing
