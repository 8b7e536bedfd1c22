// The transmit walk's budget (PcnetChip::kWalkBudget): a ring walk, whether a transmit demand or
// the poll timer started it, sends at most a budget of frames and bytes; what is left waits for
// the next poll tick with TDMD still pending, and each such wait is counted. A guest whose ring
// re-arms itself (SelfFeedingRing) so buys hvmm at most one budget per tick, and a normal
// driver's ring never meets the budget.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "pcnet_self_feeding_ring.h"
#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

constexpr auto kBudget = PcnetChip::kWalkBudget;

// Frames one walk sends when every frame is length bytes: the budget ends the walk after the
// frame that reaches its byte count, or at its frame count.
uint64_t frames_per_walk(uint64_t length) {
    const uint64_t by_bytes = (kBudget.bytes + length - 1) / length;
    return std::min<uint64_t>(kBudget.frames, by_bytes);
}

TEST(PcnetTransmitBudget, SelfFeedingLoopbackRingDoesOneBudgetPerPoll) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    ring.start();  // STRT is a transmit demand: the first walk
    const uint64_t walk = frames_per_walk(4000);
    ASSERT_LT(walk, SelfFeedingRing::kDescriptors);  // the ring alone would not stop the walk
    auto counters = rig.chip.counters();
    EXPECT_EQ(counters.loopback_frames, walk);
    EXPECT_LE(counters.tx_bytes, kBudget.bytes + 4000);
    EXPECT_EQ(counters.tx_walks_deferred, 1u);
    EXPECT_TRUE(rig.csr(0) & 0x0008) << "TDMD stays pending while work is deferred";

    for (int tick = 1; tick <= 5; ++tick) {
        EXPECT_TRUE(rig.chip.poll()) << "a deferred walk keeps the poll busy (2 ms period)";
        counters = rig.chip.counters();
        EXPECT_EQ(counters.loopback_frames, walk * (tick + 1)) << "tick " << tick;
        EXPECT_EQ(counters.tx_walks_deferred, static_cast<uint64_t>(tick + 1));
    }
}

TEST(PcnetTransmitBudget, DeferredWorkResumesOnThePollEvenWithDpoll) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    rig.set_csr(4, 0x0915 | 0x1000);  // DPOLL: the driver turned the chip's own poll off
    ring.start();
    const uint64_t walk = frames_per_walk(4000);
    EXPECT_EQ(rig.chip.counters().loopback_frames, walk);
    // The demand is still pending (TDMD), so the tick finishes it regardless of DPOLL.
    EXPECT_TRUE(rig.chip.poll());
    EXPECT_EQ(rig.chip.counters().loopback_frames, 2 * walk);
}

TEST(PcnetTransmitBudget, DemandsWhileAWalkIsDeferredWaitForTheTick) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    ring.start();
    const uint64_t walk = frames_per_walk(4000);
    // A guest writing TDMD in a loop (each write an exit) buys no walk beyond the tick's.
    for (int demand = 1; demand <= 3; ++demand) rig.transmit_demand();
    EXPECT_EQ(rig.chip.counters().loopback_frames, walk);
    EXPECT_EQ(rig.chip.counters().tdmd, 3u);
    EXPECT_TRUE(rig.chip.poll());
    EXPECT_EQ(rig.chip.counters().loopback_frames, 2 * walk);
}

TEST(PcnetTransmitBudget, StopEndsADeferredWalkAndARestartWalksAgain) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    ring.start();
    const uint64_t walk = frames_per_walk(4000);
    rig.set_csr(0, 0x0004);  // STOP
    EXPECT_FALSE(rig.chip.poll());
    EXPECT_EQ(rig.chip.counters().loopback_frames, walk);
    rig.set_csr(0, 0x0002);  // STRT (the rings as they were: still self-feeding)
    EXPECT_EQ(rig.chip.counters().loopback_frames, 2 * walk);
    rig.transmit_demand();  // deferred again: nothing more until the tick
    EXPECT_EQ(rig.chip.counters().loopback_frames, 2 * walk);
}

TEST(PcnetTransmitBudget, PcnetDriverRingFitsInOneWalk) {
    PcnetRig rig;
    rig.bring_up();  // pcnet32's default: 16 transmit descriptors
    for (uint32_t i = 0; i < 16; ++i) rig.queue_frame(i, make_frame(kOtherHost, 1514, i));
    rig.transmit_demand();
    EXPECT_EQ(rig.backend.sent.size(), 16u);
    EXPECT_EQ(rig.chip.counters().tx_walks_deferred, 0u);
    EXPECT_FALSE(rig.csr(0) & 0x0008);
}

// Also the frame count's test: 100-byte frames never reach the byte count.
TEST(PcnetTransmitBudget, LongBurstIsSentInOrderOverTwoTicksNotDropped) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 7);  // 128 transmit descriptors
    const uint32_t count = 2 * static_cast<uint32_t>(kBudget.frames) + 3;
    ASSERT_LE(count, 128u);
    for (uint32_t i = 0; i < count; ++i) rig.queue_frame(i, make_frame(kOtherHost, 100, i));
    rig.transmit_demand();
    EXPECT_EQ(rig.backend.sent.size(), kBudget.frames);
    EXPECT_EQ(rig.chip.counters().tx_walks_deferred, 1u);
    EXPECT_TRUE(rig.tx_status(kBudget.frames) & pcnet::status::kOwn) << "not yet sent";
    EXPECT_TRUE(rig.chip.poll());
    EXPECT_TRUE(rig.chip.poll());
    ASSERT_EQ(rig.backend.sent.size(), count);
    for (uint32_t i = 0; i < count; ++i) {
        EXPECT_EQ(rig.backend.sent[i], make_frame(kOtherHost, 100, i)) << "frame " << i;
        EXPECT_FALSE(rig.tx_status(i) & pcnet::status::kOwn);
    }
    EXPECT_EQ(rig.chip.counters().tx_walks_deferred, 2u);
    EXPECT_FALSE(rig.csr(0) & 0x0008) << "TDMD clears once the ring is done";
    EXPECT_FALSE(rig.chip.poll()) << "nothing left: the poll finds no work";
}

// The walk drops the chip's lock between frames for waiting register accesses: under a vCPU
// thread's reads and demands the budget still holds, walk by walk.
TEST(PcnetTransmitBudget, BudgetHoldsWhileAVcpuHammersTheRegisters) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    ring.start();
    rig.write16(0x12, 0);  // RAP = CSR0 for the hammering thread
    constexpr int kPolls = 200;
    std::atomic<bool> done = false;
    std::thread io_thread([&] {
        for (int i = 0; i < kPolls; ++i) rig.chip.poll();
        done = true;
    });
    uint64_t accesses = 0;
    while (!done) {
        (void)rig.read16(0x10);
        rig.write16(0x10, 0x0048);  // TDMD | IENA
        accesses += 2;
    }
    io_thread.join();
    const auto counters = rig.chip.counters();
    EXPECT_GT(accesses, 0u);
    // STRT's walk and one per poll, each a whole budget: the demands bought nothing, and no
    // access cut a walk short.
    EXPECT_EQ(counters.loopback_frames, (kPolls + 1) * frames_per_walk(4000));
    EXPECT_EQ(counters.tx_walks_deferred, static_cast<uint64_t>(kPolls + 1));
}

}  // namespace
}  // namespace hvmm::testing
