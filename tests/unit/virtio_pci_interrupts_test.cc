#include <gtest/gtest.h>

#include "virtio_pci_test_rig.h"

namespace hvmm::virtio::testing {
namespace {

class VirtioPciVectorTest : public VirtioPciRig {};
class VirtioPciIntxTest : public VirtioPciRig {};

class VirtioPciMsixTest : public VirtioPciRig {
  protected:
    // Brought up with MSI-X on and queue q on vector q + 1, config on vector 0.
    void SetUp() override {
        bring_up();
        msix_per_queue_vectors();
    }
    int call_fd(uint16_t q) { return transport->interrupts().call_fd(q); }
    bool bound(int fd) {
        std::lock_guard lock(router.mutex);
        return router.bound.contains(fd);
    }
};

TEST_F(VirtioPciVectorTest, VectorBeyondTheTableReadsBackNoVector) {
    negotiate();
    set_common(CommonRegister::kConfigMsixVector, 3);  // table size is 3
    EXPECT_EQ(common(CommonRegister::kConfigMsixVector), layout::kMsiNoVector);
    set_common(CommonRegister::kQueueSelect, 1);
    set_common(CommonRegister::kQueueMsixVector, 0x7FF);
    EXPECT_EQ(common(CommonRegister::kQueueMsixVector), layout::kMsiNoVector);
    set_common(CommonRegister::kQueueMsixVector, 2);
    EXPECT_EQ(common(CommonRegister::kQueueMsixVector), 2u);
    EXPECT_EQ(transport->counters().interrupts.vector_out_of_range, 2u);
}

TEST_F(VirtioPciMsixTest, UnmaskedVectorsBindTheirCallFdsToTheirMessages) {
    // The call fds first: the transport takes its lock and then the router's, so asking it
    // while holding the router's would be the opposite order (TSan: lock-order inversion).
    const int queue0 = call_fd(0), queue1 = call_fd(1);
    std::lock_guard lock(router.mutex);
    ASSERT_EQ(router.bound.size(), 3u) << "two queues and config";
    EXPECT_EQ(router.bound.at(queue0), message(1));
    EXPECT_EQ(router.bound.at(queue1), message(2));
}

TEST_F(VirtioPciMsixTest, SignalUsedDeliversTheQueuesVector) {
    device.interrupt->signal_used(1);
    device.interrupt->signal_config();
    ASSERT_EQ(router.signals.size(), 2u);
    EXPECT_EQ(router.signals[0], message(2));
    EXPECT_EQ(router.signals[1], message(0));
    EXPECT_FALSE(intx.level) << "no INTx while MSI-X is on";
    EXPECT_EQ(pba(), 0u);
}

TEST_F(VirtioPciMsixTest, MaskedVectorSetsItsPendingBitAndUnmaskingDeliversItOnce) {
    mask_vector(1, true);
    EXPECT_FALSE(bound(call_fd(0))) << "a masked vector's fd is watched, not bound";
    device.interrupt->signal_used(0);
    device.interrupt->signal_used(0);
    EXPECT_TRUE(router.signals.empty());
    EXPECT_EQ(pba(), 0b010u);
    mask_vector(1, false);
    ASSERT_EQ(router.signals.size(), 1u) << "two signals while masked: one message";
    EXPECT_EQ(router.signals[0], message(1));
    EXPECT_EQ(pba(), 0u);
    EXPECT_TRUE(bound(call_fd(0)));
    mask_vector(1, false);
    EXPECT_EQ(router.signals.size(), 1u);
    EXPECT_EQ(transport->counters().interrupts.pending_delivered, 1u);
}

TEST_F(VirtioPciMsixTest, FunctionMaskHoldsEveryVectorPending) {
    set_msix_control(true, true);
    EXPECT_FALSE(bound(call_fd(0)));
    EXPECT_FALSE(bound(call_fd(1)));
    device.interrupt->signal_used(0);
    device.interrupt->signal_config();
    EXPECT_EQ(pba(), 0b011u);
    set_msix_control(true, false);
    EXPECT_EQ(router.signals.size(), 2u);
    EXPECT_EQ(pba(), 0u);
}

// DEVICE_NEEDS_RESET after DRIVER_OK owes the driver a configuration change notification; an
// MSI-X message is a memory write, which a cleared Bus Master forbids, so it waits for the bit.
TEST_F(VirtioPciMsixTest, NeedsResetFromBusMasterIsAnnouncedOnceTheBitIsBack) {
    const uint8_t generation = transport->interrupts().config_generation();
    set_command(kMemorySpace);
    EXPECT_NE(status() & layout::bits(Status::kDeviceNeedsReset), 0);
    EXPECT_TRUE(router.signals.empty()) << "no message without Bus Master";
    set_command(kMemorySpace | kBusMaster);
    ASSERT_EQ(router.signals.size(), 1u);
    EXPECT_EQ(router.signals[0], message(0)) << "the configuration vector";
    EXPECT_NE(transport->interrupts().config_generation(), generation);
    set_command(kMemorySpace);
    set_command(kMemorySpace | kBusMaster);
    EXPECT_EQ(router.signals.size(), 1u) << "owed once: the device was already stopped";
}

TEST_F(VirtioPciMsixTest, AResetCancelsTheOwedNeedsResetNotice) {
    set_command(kMemorySpace);
    set_status(0);
    set_command(kMemorySpace | kBusMaster);
    EXPECT_TRUE(router.signals.empty());
}

TEST_F(VirtioPciMsixTest, RewritingAnUnmaskedEntryRebindsItsFd) {
    const pci::MsiMessage moved{0xFEE01000, 0x4077};
    program_vector(2, moved.address, moved.data, false);
    const int queue1 = call_fd(1);  // before the router's lock, as above
    std::lock_guard lock(router.mutex);
    EXPECT_EQ(router.bound.at(queue1), moved);
}

TEST_F(VirtioPciMsixTest, TableReadsBackWhatWasProgrammed) {
    const uint64_t entry = bar.msix_table_offset + 16;
    EXPECT_EQ(bar_read(entry, 8), message(1).address);
    EXPECT_EQ(bar_read(entry + 8, 4), message(1).data);
    EXPECT_EQ(bar_read(entry + 12, 4), 0u);
    bar_write(bar.msix_pba_offset, ~0ull, 8);
    EXPECT_EQ(pba(), 0u) << "the PBA is read-only";
}

// What vhost does: it writes the call fd itself. Masked, that lands in the PBA through the
// event loop's watch.
TEST_F(VirtioPciMsixTest, CallFdSignalWhileMaskedSetsThePendingBitThroughTheLoop) {
    mask_vector(2, true);
    const uint64_t one = 1;
    ASSERT_EQ(::write(call_fd(1), &one, sizeof(one)), 8);
    EXPECT_TRUE(run_loop_until([&] { return pba() == 0b100u; }));
    EXPECT_EQ(router.signal_count(), 0u);
}

TEST_F(VirtioPciMsixTest, BindFailureFallsBackToDeliveryFromUserspace) {
    router.fail_binds = true;
    program_vector(1, 0xFEE02000, 0x4099, false);  // re-bind attempt fails
    EXPECT_FALSE(bound(call_fd(0)));
    EXPECT_GE(transport->counters().interrupts.bind_failures, 1u);
    const uint64_t one = 1;
    ASSERT_EQ(::write(call_fd(0), &one, sizeof(one)), 8);
    EXPECT_TRUE(run_loop_until([&] { return router.signal_count() == 1; }));
    std::lock_guard lock(router.mutex);
    EXPECT_EQ(router.signals.at(0), (pci::MsiMessage{0xFEE02000, 0x4099}));
}

TEST_F(VirtioPciMsixTest, DisablingMsixUnbindsEverythingAndFallsBackToIntx) {
    set_msix_control(false, false);
    {
        std::lock_guard lock(router.mutex);
        EXPECT_TRUE(router.bound.empty());
    }
    device.interrupt->signal_used(0);
    EXPECT_TRUE(intx.level);
    EXPECT_EQ(bar_read(layout::BarLayout::kIsrOffset, 1), layout::kIsrQueue);
    EXPECT_FALSE(intx.level);
}

TEST_F(VirtioPciMsixTest, SignalWithNoVectorIsDroppedAndCounted) {
    set_common(CommonRegister::kQueueSelect, 0);
    set_common(CommonRegister::kQueueMsixVector, layout::kMsiNoVector);
    EXPECT_FALSE(bound(call_fd(0)));
    device.interrupt->signal_used(0);
    EXPECT_TRUE(router.signals.empty());
    EXPECT_EQ(pba(), 0u);
    EXPECT_EQ(transport->counters().interrupts.no_vector, 1u);
}

TEST_F(VirtioPciMsixTest, ResetUnbindsTheCallFds) {
    set_status(0);
    std::lock_guard lock(router.mutex);
    EXPECT_TRUE(router.bound.empty()) << "every vector is NO_VECTOR again";
}

// INTx through the watched call fd (vhost with MSI-X off).
TEST_F(VirtioPciIntxTest, CallFdSignalUnderIntxRaisesTheLineThroughTheLoop) {
    bring_up();
    const uint64_t one = 1;
    ASSERT_EQ(::write(transport->interrupts().call_fd(0), &one, sizeof(one)), 8);
    EXPECT_TRUE(run_loop_until([&] { return transport->interrupts().intx_status(); }));
    EXPECT_TRUE(intx.level);
    EXPECT_EQ(bar_read(layout::BarLayout::kIsrOffset, 1), layout::kIsrQueue);
    EXPECT_FALSE(intx.level);
}

// The transport may go while the I/O thread runs: a watch firing after it is gone does nothing,
// and the device is reset by the transport's destructor.
TEST_F(VirtioPciIntxTest, DestroyingTheTransportWhileTheLoopRunsIsSafe) {
    std::thread io([&] { loop->run(); });
    for (int round = 0; round < 50; ++round) {
        bring_up();
        const uint64_t one = 1;
        for (uint16_t q = 0; q < 2; ++q) {
            ASSERT_EQ(::write(transport->interrupts().call_fd(q), &one, sizeof(one)), 8);
        }
        transport.reset();
        EXPECT_EQ(device.resets, round + 1);
        transport =
            std::move(*VirtioPciTransport::create(device, memory, *loop, router, intx, "again"));
    }
    loop->stop();
    io.join();
}

}  // namespace
}  // namespace hvmm::virtio::testing
