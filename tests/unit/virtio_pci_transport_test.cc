#include <gtest/gtest.h>
#include <unistd.h>

#include "boot/acpi/dsdt.h"
#include "devices/pci/pci_host_bridge.h"
#include "virtio_pci_test_rig.h"

namespace hvmm::virtio::testing {
namespace {

constexpr uint8_t kAck = layout::bits(Status::kAcknowledge);
constexpr uint8_t kDriver = layout::bits(Status::kDriver);
constexpr uint8_t kFeaturesOk = layout::bits(Status::kFeaturesOk);
constexpr uint8_t kDriverOk = layout::bits(Status::kDriverOk);
constexpr uint8_t kNeedsReset = layout::bits(Status::kDeviceNeedsReset);

class VirtioPciTransportTest : public VirtioPciRig {};

TEST_F(VirtioPciTransportTest, IdentityIsAModernVirtioPciFunction) {
    EXPECT_EQ(config_read(0x00, 2), 0x1AF4u);
    EXPECT_EQ(config_read(0x02, 2), 0x1041u) << "0x1040 + device type 1";
    EXPECT_EQ(config_read(0x08, 1), 1u) << "revision 1: non-transitional";
    EXPECT_EQ(config_read(0x09, 4) & 0xFFFFFF, 0x020000u);
    EXPECT_EQ(config_read(0x2C, 2), 0x1AF4u);
    EXPECT_GE(config_read(0x2E, 2), 0x40u);
    EXPECT_EQ(config_read(0x3D, 1), 1u) << "INTA#";
    EXPECT_NE(config_read(0x06, 2) & 0x10, 0u) << "capability list present";
}

// Every virtio capability, as Linux's virtio_pci_find_capability walks them.
struct VirtioCap {
    uint8_t offset, type, bar;
    uint32_t region_offset, length;
};
std::vector<VirtioCap> virtio_caps(const pci::ConfigSpace& config) {
    std::vector<VirtioCap> caps;
    uint8_t after = 0;
    while (auto at = pci::find_capability(config, pci::CapabilityId::kVendorSpecific, after)) {
        caps.push_back(VirtioCap{*at, config.read8(*at + 3), config.read8(*at + 4),
                                 config.read32(*at + 8), config.read32(*at + 12)});
        after = *at;
    }
    return caps;
}

TEST_F(VirtioPciTransportTest, CapabilitiesDescribeTheBarLayout) {
    std::map<uint8_t, VirtioCap> by_type;
    for (const auto& cap : virtio_caps(transport->config_space())) {
        by_type[cap.type] = cap;
        EXPECT_EQ(cap.bar, 0);
    }
    ASSERT_EQ(by_type.size(), 5u) << "COMMON, NOTIFY, ISR, DEVICE, PCI_CFG";
    EXPECT_EQ(by_type[1].region_offset, layout::BarLayout::kCommonOffset);
    EXPECT_GE(by_type[1].length, 0x38u);
    EXPECT_EQ(by_type[2].region_offset, layout::BarLayout::kNotifyOffset);
    EXPECT_EQ(config_read(by_type[2].offset + 16, 4), 4u) << "notify_off_multiplier";
    EXPECT_GE(by_type[2].length, 2u * 4u);
    EXPECT_EQ(by_type[3].region_offset, layout::BarLayout::kIsrOffset);
    EXPECT_EQ(by_type[4].region_offset, layout::BarLayout::kDeviceOffset);
    EXPECT_EQ(by_type[4].length, 8u);
    EXPECT_EQ(config_read(by_type[5].offset + 2, 1), 20u) << "cap_len of the PCI_CFG capability";

    const uint8_t msix = msix_cap();
    EXPECT_EQ(config_read(msix + 2, 2) & 0x7FF, 2u) << "table size 3: two queues and config";
    EXPECT_EQ(config_read(msix + 4, 4), bar.msix_table_offset | 0u);
    EXPECT_EQ(config_read(msix + 8, 4), bar.msix_pba_offset | 0u);
    EXPECT_EQ(bar.locate(bar.msix_table_offset, 4).region, layout::Region::kMsixTable);
}

TEST_F(VirtioPciTransportTest, BarIsA64BitPrefetchableMemoryBarSizedThroughBothHalves) {
    EXPECT_EQ(config_read(0x10, 4) & 0xF, 0xCu) << "memory, 64-bit, prefetchable";
    config_write(0x10, 0xFFFFFFFF, 4);
    config_write(0x14, 0xFFFFFFFF, 4);
    const uint64_t mask = (uint64_t{config_read(0x14, 4)} << 32) | (config_read(0x10, 4) & ~0xFu);
    EXPECT_EQ(~mask + 1, bar.bar_size);
}

TEST_F(VirtioPciTransportTest, HostBridgePlacesTheBarInsideTheDsdtWindow) {
    std::vector<pci::BarChange> changes;
    pci::PciHostBridge bridge([&](const pci::BarChange& change) { changes.push_back(change); });
    ASSERT_TRUE(bridge.add(*transport));
    ASSERT_TRUE(bridge.assign_initial_resources());
    ASSERT_EQ(changes.size(), 1u);
    ASSERT_TRUE(changes[0].new_base);
    EXPECT_EQ(changes[0].bar, 0);
    EXPECT_EQ(changes[0].size, bar.bar_size);
    EXPECT_GE(*changes[0].new_base, boot::acpi::kPciMmioWindowStart);
    EXPECT_LE(*changes[0].new_base + changes[0].size - 1, boot::acpi::kPciMmioWindowEnd);
    EXPECT_EQ(config_read(0x14, 4), 0u) << "upper half below 4 GiB";
    EXPECT_EQ(*changes[0].new_base % bar.bar_size, 0u);
}

TEST_F(VirtioPciTransportTest, DeviceFeaturesShowThroughTheSelectWindow) {
    set_common(CommonRegister::kDeviceFeatureSelect, 0);
    EXPECT_EQ(common(CommonRegister::kDeviceFeature), (kFeatureEventIdx | kDeviceFeatureBit));
    set_common(CommonRegister::kDeviceFeatureSelect, 1);
    EXPECT_EQ(common(CommonRegister::kDeviceFeature), 1u) << "VERSION_1 is bit 32";
    set_common(CommonRegister::kDeviceFeatureSelect, 7);
    EXPECT_EQ(common(CommonRegister::kDeviceFeature), 0u);
    EXPECT_EQ(common(CommonRegister::kNumQueues), 2u);
}

TEST_F(VirtioPciTransportTest, FeaturesOkWithoutVersion1StaysClear) {
    negotiate(kFeatureEventIdx);
    EXPECT_EQ(status(), kAck | kDriver);
    EXPECT_EQ(transport->counters().common.features_refused, 1u);
    EXPECT_TRUE(device.accepted.empty()) << "refused before the device is asked";
}

TEST_F(VirtioPciTransportTest, FeaturesOkWithAnUnofferedBitStaysClear) {
    negotiate(kFeatureVersion1 | (uint64_t{1} << 7));
    EXPECT_EQ(status() & kFeaturesOk, 0);
}

TEST_F(VirtioPciTransportTest, FeaturesTheDeviceRefusesLeaveFeaturesOkClear) {
    device.accept = false;
    negotiate();
    EXPECT_EQ(status() & kFeaturesOk, 0);
    ASSERT_EQ(device.accepted.size(), 1u);
    EXPECT_EQ(device.accepted[0], kFeatureVersion1 | kFeatureEventIdx);
}

TEST_F(VirtioPciTransportTest, DriverFeatureWritesAfterFeaturesOkAreRefused) {
    negotiate();
    ASSERT_NE(status() & kFeaturesOk, 0);
    set_common(CommonRegister::kDriverFeatureSelect, 0);
    set_common(CommonRegister::kDriverFeature, kDeviceFeatureBit);
    EXPECT_EQ(common(CommonRegister::kDriverFeature), kFeatureEventIdx);
    EXPECT_EQ(transport->counters().common.feature_writes_refused, 1u);
}

TEST_F(VirtioPciTransportTest, StatusBitsCannotBeClearedExceptByWritingZero) {
    negotiate();
    const uint8_t before = status();
    set_status(kAck);  // drops DRIVER and FEATURES_OK
    EXPECT_EQ(status(), before);
    EXPECT_EQ(transport->counters().common.status_bits_cleared, 1u);
    set_status(0);
    EXPECT_EQ(status(), 0);
}

TEST_F(VirtioPciTransportTest, DriverOkWithoutFeaturesOkIsRefused) {
    set_status(kAck | kDriver | kDriverOk);
    EXPECT_EQ(status(), kAck | kDriver);
    EXPECT_EQ(device.activations, 0);
    EXPECT_EQ(transport->counters().common.driver_ok_refused, 1u);
}

TEST_F(VirtioPciTransportTest, DriverOkActivatesTheDeviceWithEnabledQueuesAndKickFds) {
    negotiate();
    configure_queue(0);
    driver_ok();
    ASSERT_EQ(device.activations, 1);
    EXPECT_EQ(device.features, kFeatureVersion1 | kFeatureEventIdx);
    ASSERT_EQ(device.queues.size(), 2u);
    ASSERT_NE(device.queues[0], nullptr);
    EXPECT_TRUE(device.queues[0]->enabled());
    EXPECT_TRUE(device.queues[0]->config().event_idx);
    EXPECT_EQ(device.queues[0]->config().desc_table.value, desc_of(0));
    EXPECT_EQ(device.queues[1], nullptr) << "queue 1 was left disabled";
    EXPECT_EQ(device.kick_fds[0], transport->notify_addresses()[0].kick_fd);
    EXPECT_EQ(device.kick_fds[1], -1);
    EXPECT_EQ(transport->interrupts().call_fd(1), -1);
    EXPECT_GE(transport->interrupts().call_fd(0), 0);
}

// A PCI function may master the bus (reach the rings and buffers) only with Bus Master set.
TEST_F(VirtioPciTransportTest, DriverOkWithoutBusMasterStartsTheDeviceOnlyOnceItIsSet) {
    negotiate();
    configure_queue(0);
    set_command(kMemorySpace);  // a driver that never called pci_set_master
    driver_ok();
    EXPECT_NE(status() & kDriverOk, 0) << "the status takes DRIVER_OK";
    EXPECT_EQ(device.activations, 0) << "but the device may not touch guest memory yet";
    EXPECT_EQ(transport->counters().common.waits_for_bus_master, 1u);
    set_command(kMemorySpace | kBusMaster);
    EXPECT_EQ(device.activations, 1);
    ASSERT_EQ(device.queues.size(), 2u);
    EXPECT_NE(device.queues[0], nullptr);
    set_command(kMemorySpace | kBusMaster);  // unchanged: nothing more
    EXPECT_EQ(device.activations, 1);
}

TEST_F(VirtioPciTransportTest, BusMasterClearedUnderARunningDeviceStopsItAndAsksForReset) {
    bring_up();
    ASSERT_EQ(device.activations, 1);
    const int resets_before = device.resets;
    set_command(kMemorySpace);
    EXPECT_EQ(device.resets, resets_before + 1) << "stopped: it touches no guest memory now";
    EXPECT_TRUE(device.queues.empty());
    EXPECT_NE(status() & kNeedsReset, 0);
    EXPECT_NE(status() & kDriverOk, 0) << "the driver's bits stay as it wrote them";
    EXPECT_EQ(transport->counters().common.stopped_by_bus_master, 1u);
    set_command(kMemorySpace | kBusMaster);
    EXPECT_EQ(device.activations, 1) << "a device that needs a reset is not restarted";
    set_status(0);
    EXPECT_EQ(status(), 0) << "the reset clears DEVICE_NEEDS_RESET";
    bring_up();
    EXPECT_EQ(device.activations, 2) << "and the driver can start it again";
}

TEST_F(VirtioPciTransportTest, NeedsResetFromBusMasterIsAnnouncedAtOnceOverIntx) {
    bring_up();
    ASSERT_FALSE(intx.level);
    set_command(kMemorySpace);
    EXPECT_NE(status() & kNeedsReset, 0);
    EXPECT_TRUE(intx.level) << "INTx is no bus cycle: the configuration change goes now";
    EXPECT_EQ(bar_read(layout::BarLayout::kIsrOffset, 1), layout::kIsrConfig);
}

TEST_F(VirtioPciTransportTest, QueueRegistersBeforeFeaturesOkAreRefused) {
    set_status(kAck | kDriver);
    set_common(CommonRegister::kQueueSelect, 0);
    set_common(CommonRegister::kQueueDesc, 0x5000);
    EXPECT_EQ(common(CommonRegister::kQueueDesc), 0u);
    EXPECT_EQ(transport->counters().common.queue_writes_refused, 1u);
}

// CVE-2026-5747 pattern: rings moved or resized under a running device.
TEST_F(VirtioPciTransportTest, QueueRegistersAfterDriverOkAreRefusedAndCounted) {
    bring_up();
    set_common(CommonRegister::kQueueSelect, 0);
    set_common(CommonRegister::kQueueDesc, 0x3F0000);
    set_common(CommonRegister::kQueueDriver, 0x3F8000);
    set_common(CommonRegister::kQueueDevice, 0x3FC000);
    set_common(CommonRegister::kQueueSize, 16);
    set_common(CommonRegister::kQueueEnable, 1);
    EXPECT_EQ(common(CommonRegister::kQueueDesc), desc_of(0));
    EXPECT_EQ(common(CommonRegister::kQueueSize), 256u);
    EXPECT_EQ(device.queues[0]->config().desc_table.value, desc_of(0));
    EXPECT_EQ(device.queues[0]->config().size, 256u);
    EXPECT_EQ(transport->counters().common.queue_writes_refused, 5u);
}

// CVE-2011-2512 pattern: a queue index beyond the device's queues.
TEST_F(VirtioPciTransportTest, QueueSelectBeyondNumQueuesReadsSizeZeroAndIgnoresWrites) {
    negotiate();
    set_common(CommonRegister::kQueueSelect, 2);
    EXPECT_EQ(common(CommonRegister::kQueueSelect), 2u);
    EXPECT_EQ(common(CommonRegister::kQueueSize), 0u);
    set_common(CommonRegister::kQueueSize, 64);
    set_common(CommonRegister::kQueueDesc, desc_of(0));
    set_common(CommonRegister::kQueueEnable, 1);
    set_common(CommonRegister::kQueueMsixVector, 0);
    EXPECT_EQ(common(CommonRegister::kQueueSize), 0u);
    EXPECT_EQ(common(CommonRegister::kQueueDesc), 0u);
    EXPECT_EQ(common(CommonRegister::kQueueEnable), 0u);
    EXPECT_EQ(common(CommonRegister::kQueueMsixVector), layout::kMsiNoVector);
    EXPECT_EQ(transport->counters().common.queue_select_out_of_range, 4u);
    set_common(CommonRegister::kQueueSelect, 0xFFFF);
    EXPECT_EQ(common(CommonRegister::kQueueSize), 0u);
}

TEST_F(VirtioPciTransportTest, InvalidQueueEnableLeavesTheQueueDisabledAndAsksForReset) {
    negotiate();
    set_common(CommonRegister::kQueueSelect, 0);
    set_common(CommonRegister::kQueueDesc, desc_of(0) + 2);  // not 16-byte aligned
    set_common(CommonRegister::kQueueDriver, avail_of(0));
    set_common(CommonRegister::kQueueDevice, used_of(0));
    set_common(CommonRegister::kQueueEnable, 1);
    EXPECT_EQ(common(CommonRegister::kQueueEnable), 0u);
    EXPECT_NE(status() & kNeedsReset, 0);
    EXPECT_EQ(transport->counters().common.invalid_queue_enables, 1u);
}

TEST_F(VirtioPciTransportTest, QueueSizeAboveTheMaximumOrNotAPowerOfTwoIsNotEnabled) {
    negotiate();
    configure_queue(0, 512);
    EXPECT_EQ(common(CommonRegister::kQueueEnable), 0u);
    configure_queue(1, 48);
    EXPECT_EQ(common(CommonRegister::kQueueEnable), 0u);
    EXPECT_EQ(transport->counters().common.invalid_queue_enables, 2u);
}

TEST_F(VirtioPciTransportTest, SmallerQueueSizeIsAccepted) {
    negotiate();
    configure_queue(1, 64);
    EXPECT_EQ(common(CommonRegister::kQueueEnable), 1u);
    EXPECT_EQ(common(CommonRegister::kQueueNotifyOff), 1u);
    EXPECT_EQ(transport->config_space().read8(0), 0xF4);
}

TEST_F(VirtioPciTransportTest, WritingZeroResetsTheDeviceTheQueuesAndEveryRegister) {
    bring_up();
    msix_per_queue_vectors();
    // The driver hands a buffer over and the device takes it: after the reset it is the
    // driver's again and the queue starts from index 0.
    MockDriver driver(memory, 256);
    driver.add_chain({{kDataArea + 0x40000, 64, false}});
    ASSERT_TRUE(device.queues[0]->pop());
    EXPECT_EQ(device.queues[0]->next_avail(), 1);
    SplitQueue* queue0 = device.queues[0];

    set_status(0);
    EXPECT_EQ(status(), 0) << "the reset is complete when 0 reads back";
    EXPECT_EQ(device.resets, 1);
    EXPECT_FALSE(queue0->enabled());
    EXPECT_EQ(queue0->next_avail(), 0);
    set_common(CommonRegister::kQueueSelect, 0);
    EXPECT_EQ(common(CommonRegister::kQueueSize), 256u);
    EXPECT_EQ(common(CommonRegister::kQueueDesc), 0u);
    EXPECT_EQ(common(CommonRegister::kQueueEnable), 0u);
    EXPECT_EQ(common(CommonRegister::kQueueMsixVector), layout::kMsiNoVector);
    EXPECT_EQ(common(CommonRegister::kConfigMsixVector), layout::kMsiNoVector);
    set_common(CommonRegister::kDriverFeatureSelect, 1);
    EXPECT_EQ(common(CommonRegister::kDriverFeature), 0u);
    EXPECT_EQ(transport->interrupts().call_fd(0), -1);

    // And the device comes up again.
    bring_up();
    EXPECT_EQ(device.activations, 2);
}

TEST_F(VirtioPciTransportTest, NotifyWriteSignalsTheQueuesKickFd) {
    bring_up();
    const auto addresses = transport->notify_addresses();
    ASSERT_EQ(addresses.size(), 2u);
    EXPECT_EQ(addresses[1].bar_offset, layout::BarLayout::kNotifyOffset + 4);
    bar_write(addresses[1].bar_offset, 1, 2);
    uint64_t count = 0;
    ASSERT_EQ(::read(device.kick_fds[1], &count, sizeof(count)), 8);
    EXPECT_EQ(count, 1u);
    bar_write(layout::BarLayout::kNotifyOffset + 2, 0, 2);  // between two queues
    bar_write(layout::BarLayout::kNotifyOffset + 8, 2, 2);  // a third queue
    EXPECT_EQ(transport->counters().bad_notifies, 2u);
    EXPECT_EQ(transport->counters().kicks, 1u);
}

TEST_F(VirtioPciTransportTest, IntxSignalSetsIsrAndRaisesTheLineUntilIsrIsRead) {
    bring_up();
    device.interrupt->signal_used(0);
    EXPECT_TRUE(intx.level);
    EXPECT_NE(config_read(0x06, 2) & 0x8, 0u) << "Interrupt Status";
    EXPECT_EQ(bar_read(layout::BarLayout::kIsrOffset, 1), layout::kIsrQueue);
    EXPECT_FALSE(intx.level);
    EXPECT_EQ(bar_read(layout::BarLayout::kIsrOffset, 1), 0u) << "read clears";
    EXPECT_EQ(config_read(0x06, 2) & 0x8, 0u);
}

TEST_F(VirtioPciTransportTest, ConfigChangeSetsIsrBit1AndBumpsTheGeneration) {
    bring_up();
    const uint64_t generation = common(CommonRegister::kConfigGeneration);
    device.interrupt->signal_config();
    EXPECT_NE(common(CommonRegister::kConfigGeneration), generation);
    EXPECT_EQ(bar_read(layout::BarLayout::kIsrOffset, 1), layout::kIsrConfig);
}

TEST_F(VirtioPciTransportTest, ConfigChangeBeforeDriverOkBumpsTheGenerationOnly) {
    negotiate();
    const uint64_t generation = common(CommonRegister::kConfigGeneration);
    transport->interrupts().signal_config();
    EXPECT_NE(common(CommonRegister::kConfigGeneration), generation);
    EXPECT_FALSE(intx.level);
    EXPECT_EQ(bar_read(layout::BarLayout::kIsrOffset, 1), 0u);
}

TEST_F(VirtioPciTransportTest, InterruptDisableHoldsTheLineLowWithIsrSet) {
    bring_up();
    config_write(0x04, 0x0406, 2);  // memory space + Bus Master + Interrupt Disable
    EXPECT_EQ(config_read(0x04, 2), 0x0406u) << "Interrupt Disable is implemented";
    device.interrupt->signal_used(1);
    EXPECT_FALSE(intx.level);
    EXPECT_NE(config_read(0x06, 2) & 0x8, 0u) << "status shows it whatever the disable says";
    config_write(0x04, 0x0006, 2);
    EXPECT_TRUE(intx.level);
}

TEST_F(VirtioPciTransportTest, DeviceConfigAccessesReachTheDeviceAndStopAtItsSize) {
    EXPECT_EQ(bar_read(layout::BarLayout::kDeviceOffset, 4), 0x04030201u);
    bar_write(layout::BarLayout::kDeviceOffset + 4, 0xAABB, 2);
    EXPECT_EQ(device.config[4], 0xBB);
    EXPECT_EQ(bar_read(layout::BarLayout::kDeviceOffset + 6, 4), 0u) << "straddles the end";
    EXPECT_EQ(bar_read(layout::BarLayout::kDeviceOffset + 0x100, 1), 0u);
    bar_write(layout::BarLayout::kDeviceOffset + 8, 0xFF, 1);
    EXPECT_EQ(transport->counters().device_config_out_of_range, 3u);
}

TEST_F(VirtioPciTransportTest, UnmappedBarOffsetsReadZeroAndAreCounted) {
    EXPECT_EQ(bar_read(bar.bar_size - 8, 8), 0u);
    bar_write(bar.bar_size - 4, 0xFFFFFFFF, 4);
    EXPECT_EQ(bar_read(layout::offset_of(CommonRegister::kQueueReset) + 4, 4), 0u);
    EXPECT_EQ(transport->counters().unmapped_bar_accesses, 2u);
}

// The PCI_CFG capability: the driver reads and writes the BAR through configuration space.
class VirtioPciCfgTest : public VirtioPciRig {
  protected:
    uint8_t cap() {
        for (const auto& c : virtio_caps(transport->config_space())) {
            if (c.type == 5)
                return c.offset;
        }
        ADD_FAILURE() << "no PCI_CFG capability";
        return 0;
    }
    void window(uint8_t bar_index, uint32_t offset, uint32_t length) {
        config_write(cap() + 4, bar_index, 1);
        config_write(cap() + 8, offset, 4);
        config_write(cap() + 12, length, 4);
    }
    uint32_t data(size_t width = 4) { return config_read(cap() + 16, width); }
    void set_data(uint32_t value, size_t width) { config_write(cap() + 16, value, width); }
};

TEST_F(VirtioPciCfgTest, ReadsAndWritesTheBarWithoutMappingIt) {
    window(0, layout::offset_of(CommonRegister::kNumQueues), 2);
    EXPECT_EQ(data(2), 2u);
    window(0, layout::offset_of(CommonRegister::kDeviceStatus), 1);
    set_data(kAck, 1);
    EXPECT_EQ(status(), kAck);
    window(0, layout::BarLayout::kDeviceOffset + 4, 4);
    EXPECT_EQ(data(), 0x08070605u);
    EXPECT_EQ(transport->counters().pci_cfg_refused, 0u);
}

TEST_F(VirtioPciCfgTest, BadBarLengthOrAlignmentIsIgnored) {
    window(2, 0, 4);
    EXPECT_EQ(data(), 0u);
    window(0, 0x15, 2);  // misaligned
    set_data(0xFFFF, 2);
    window(0, 0, 3);
    data();
    window(0, bar.bar_size, 4);  // past the BAR
    data();
    EXPECT_EQ(status(), 0);
    EXPECT_EQ(transport->counters().pci_cfg_refused, 4u);
}

TEST_F(VirtioPciCfgTest, OnlyTheCapabilitysWindowFieldsAreWritable) {
    const uint8_t at = cap();
    config_write(at + 3, 0x77, 1);  // cfg_type
    config_write(at + 2, 0x77, 1);  // cap_len
    EXPECT_EQ(config_read(at + 3, 1), 5u);
    EXPECT_EQ(config_read(at + 2, 1), 20u);
}

}  // namespace
}  // namespace hvmm::virtio::testing
