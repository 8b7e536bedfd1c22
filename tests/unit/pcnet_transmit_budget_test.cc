// The transmit walk's budgets: a walk a transmit demand starts sends at most
// PcnetChip::kWalkBudget, a walk the poll timer starts at most kPollWalkBudget (what the 10
// Mbit/s wire carries in a 2 ms tick), and what is left waits for the next tick with TDMD still
// pending, each such wait counted. Once a demand's walk has spent its whole budget with frames
// still queued, demands get the wire's share too until a walk finds the ring done. A guest whose
// ring re-arms itself (SelfFeedingRing) so buys hvmm the wire's share per tick and per exit it
// pays for, and a normal driver's ring never meets either bound.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "pcnet_self_feeding_ring.h"
#include "pcnet_test_rig.h"
#include "vmm/transmit_poll_pacer.h"

namespace hvmm::testing {
namespace {

constexpr auto kBudget = PcnetChip::kWalkBudget;
constexpr auto kWire = PcnetChip::kPollWalkBudget;

// Frames one walk with this budget sends when every frame is length bytes: the budget ends the
// walk after the frame that reaches its byte count (on the wire), or at its frame count.
uint64_t frames_per_walk(uint64_t length, PcnetChip::WalkBudget budget = kBudget) {
    const uint64_t on_wire = PcnetChip::wire_bytes(length);
    const uint64_t by_bytes = (budget.bytes + on_wire - 1) / on_wire;
    return std::min<uint64_t>(budget.frames, by_bytes);
}

TEST(PcnetTransmitBudget, WireBytesCountFcsPreambleGapAndTheMinimumFrame) {
    EXPECT_EQ(PcnetChip::wire_bytes(1514), 1514u + 4 + 20);
    EXPECT_EQ(PcnetChip::wire_bytes(60), 84u);
    EXPECT_EQ(PcnetChip::wire_bytes(14), 84u) << "a runt still takes a slot's time";
    // The poll's budget is the wire's 2 ms: 10 Mbit/s * 2 ms / 8 = 2,500 bytes, and the frame
    // count is what that many minimum-size frames fill.
    EXPECT_EQ(kWire.bytes, 10'000'000u * 2 / 1000 / 8);
    const uint64_t min_frame = PcnetChip::wire_bytes(60);
    EXPECT_EQ(kWire.frames, (kWire.bytes + min_frame - 1) / min_frame);
}

TEST(PcnetTransmitBudget, SelfFeedingRingRunsAtWireRateAfterItsFirstDemand) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    ring.start();  // STRT is a transmit demand: the first walk, a demand's budget
    const uint64_t walk = frames_per_walk(4000);
    ASSERT_LT(walk, SelfFeedingRing::kDescriptors);  // the ring alone would not stop the walk
    ASSERT_EQ(frames_per_walk(4000, kWire), 1u);     // 4,024 bytes on the wire: one per tick
    auto counters = rig.chip.counters();
    EXPECT_EQ(counters.loopback_frames, walk);
    EXPECT_LE(counters.tx_bytes, kBudget.bytes + 4000);
    EXPECT_EQ(counters.tx_walks_deferred, 1u);
    EXPECT_EQ(counters.tx_walks_wire_paced, 0u);
    EXPECT_TRUE(rig.csr(0) & 0x0008) << "TDMD stays pending while work is deferred";

    // The ticks keep account: a 4,024-byte frame is longer than a tick's 2,500 bytes, so some
    // ticks send nothing while the wire is still carrying the last one. Over any number of
    // ticks the ring gets what 10 Mbit/s carries, within one frame.
    const uint64_t on_wire = PcnetChip::wire_bytes(4000);
    for (uint64_t tick = 1; tick <= 100; ++tick) {
        EXPECT_FALSE(rig.chip.poll()) << "work the wire holds back does not keep the poll fast";
        counters = rig.chip.counters();
        const uint64_t sent = counters.loopback_frames - walk;
        EXPECT_LE(sent * on_wire, tick * kWire.bytes + on_wire) << "tick " << tick;
        EXPECT_GE(sent * on_wire + on_wire, tick * kWire.bytes) << "tick " << tick;
        EXPECT_EQ(counters.tx_walks_wire_paced, sent);
        EXPECT_EQ(counters.tx_walks_deferred, sent + 1) << "every walk left the ring armed";
    }
    EXPECT_EQ(counters.loopback_frames - walk, 100 * kWire.bytes / on_wire + 1);
}

TEST(PcnetTransmitBudget, SelfFeedingRingOfMinimumFramesGetsTheWiresFramesPerTick) {
    PcnetRig rig;
    // The smallest frame that still carries both rings' image: many frames per tick.
    SelfFeedingRing ring(rig, SelfFeedingRing::kRingBytes);
    ring.start();
    const uint64_t walk = frames_per_walk(SelfFeedingRing::kRingBytes);
    const uint64_t tick = frames_per_walk(SelfFeedingRing::kRingBytes, kWire);
    ASSERT_GT(tick, 1u);
    EXPECT_EQ(rig.chip.counters().loopback_frames, walk);
    EXPECT_FALSE(rig.chip.poll());
    EXPECT_EQ(rig.chip.counters().loopback_frames, walk + tick);
    EXPECT_LE(tick * PcnetChip::wire_bytes(SelfFeedingRing::kRingBytes),
              kWire.bytes + PcnetChip::wire_bytes(SelfFeedingRing::kRingBytes));
}

TEST(PcnetTransmitBudget, DeferredWorkResumesOnThePollEvenWithDpoll) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    rig.set_csr(4, 0x0915 | 0x1000);  // DPOLL: the driver turned the chip's own poll off
    ring.start();
    const uint64_t walk = frames_per_walk(4000);
    EXPECT_EQ(rig.chip.counters().loopback_frames, walk);
    // The demand is still pending (TDMD), so the tick finishes it regardless of DPOLL.
    rig.chip.poll();
    EXPECT_EQ(rig.chip.counters().loopback_frames, walk + 1);
}

TEST(PcnetTransmitBudget, DemandsOnARingThatOutranItsBudgetBuyTheWiresShareEach) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    ring.start();
    const uint64_t walk = frames_per_walk(4000);
    // A guest writing TDMD in a loop pays an exit for each, and each buys one tick's worth of
    // wire (here one frame), not another budget.
    for (int demand = 1; demand <= 3; ++demand) rig.transmit_demand();
    EXPECT_EQ(rig.chip.counters().loopback_frames, walk + 3);
    EXPECT_EQ(rig.chip.counters().tdmd, 3u);
    EXPECT_EQ(rig.chip.counters().tx_walks_wire_paced, 3u);
    rig.chip.poll();
    EXPECT_EQ(rig.chip.counters().loopback_frames, walk + 4);
}

TEST(PcnetTransmitBudget, StopEndsADeferredWalkAndARestartWalksAgain) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    ring.start();
    const uint64_t walk = frames_per_walk(4000);
    rig.set_csr(0, 0x0004);  // STOP
    EXPECT_FALSE(rig.chip.poll());
    EXPECT_EQ(rig.chip.counters().loopback_frames, walk);
    // STRT (the rings as they were: still self-feeding): STOP forgot the ring's history, so
    // its demand gets a whole budget, and the ring outruns it again.
    rig.set_csr(0, 0x0002);
    EXPECT_EQ(rig.chip.counters().loopback_frames, 2 * walk);
    rig.transmit_demand();
    EXPECT_EQ(rig.chip.counters().loopback_frames, 2 * walk + 1);
}

TEST(PcnetTransmitBudget, PcnetDriverRingFitsInOneWalk) {
    PcnetRig rig;
    rig.bring_up();  // pcnet32's default: 16 transmit descriptors
    for (uint32_t i = 0; i < 16; ++i) rig.queue_frame(i, make_frame(kOtherHost, 1514, i));
    rig.transmit_demand();
    EXPECT_EQ(rig.backend.sent.size(), 16u);
    EXPECT_EQ(rig.chip.counters().tx_walks_deferred, 0u);
    EXPECT_EQ(rig.chip.counters().tx_walks_wire_paced, 0u);
    EXPECT_FALSE(rig.csr(0) & 0x0008);
}

// Also the frame count's test: 100-byte frames never reach the demand's byte count.
TEST(PcnetTransmitBudget, LongBurstIsSentInOrderAtWireRateNotDropped) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 7);  // 128 transmit descriptors
    const uint32_t count = 2 * static_cast<uint32_t>(kBudget.frames) + 3;
    ASSERT_LE(count, 128u);
    for (uint32_t i = 0; i < count; ++i) rig.queue_frame(i, make_frame(kOtherHost, 100, i));
    rig.transmit_demand();
    EXPECT_EQ(rig.backend.sent.size(), kBudget.frames);
    EXPECT_EQ(rig.chip.counters().tx_walks_deferred, 1u);
    EXPECT_TRUE(rig.tx_status(kBudget.frames) & pcnet::status::kOwn) << "not yet sent";
    // The rest at the wire's rate: each tick adds 2,500 bytes of wire time.
    const uint64_t on_wire = PcnetChip::wire_bytes(100);
    uint64_t ticks = 0;
    bool finished = false;
    while (rig.backend.sent.size() < count && ticks < 10) {
        finished = rig.chip.poll();
        ++ticks;
        const uint64_t after_budget = rig.backend.sent.size() - kBudget.frames;
        EXPECT_LE(after_budget * on_wire, ticks * kWire.bytes + on_wire) << "tick " << ticks;
    }
    EXPECT_EQ(ticks, ((count - kBudget.frames) * on_wire + kWire.bytes - 1) / kWire.bytes);
    EXPECT_TRUE(finished) << "the tick that finished the ring had work a driver waits on";
    ASSERT_EQ(rig.backend.sent.size(), count);
    for (uint32_t i = 0; i < count; ++i) {
        EXPECT_EQ(rig.backend.sent[i], make_frame(kOtherHost, 100, i)) << "frame " << i;
        EXPECT_FALSE(rig.tx_status(i) & pcnet::status::kOwn);
    }
    EXPECT_EQ(rig.chip.counters().tx_walks_deferred, ticks);  // the demand's and all but the last
    EXPECT_EQ(rig.chip.counters().tx_walks_wire_paced, ticks);
    EXPECT_FALSE(rig.csr(0) & 0x0008) << "TDMD clears once the ring is done";
    EXPECT_FALSE(rig.chip.poll()) << "nothing left: the poll finds no work";

    // The ring was found done: the next demand has its whole budget again.
    for (uint32_t i = 0; i < 40; ++i)
        rig.queue_frame((count + i) % 128, make_frame(kOtherHost, 100, count + i));
    rig.transmit_demand();
    EXPECT_EQ(rig.backend.sent.size(), count + kBudget.frames);
}

TEST(PcnetTransmitBudget, ThePollAloneSendsAtWireRateAndADemandStillGetsItsBudget) {
    PcnetRig rig;
    rig.bring_up();  // DPOLL clear: the chip polls its ring by itself
    for (uint32_t i = 0; i < 10; ++i) rig.queue_frame(i, make_frame(kOtherHost, 1514, i));
    // No demand: the poll finds the frames, and the wire carries two full frames per tick.
    const uint64_t per_tick = frames_per_walk(1514, kWire);
    ASSERT_EQ(per_tick, 2u);
    EXPECT_FALSE(rig.chip.poll()) << "the wire holds the rest back: no reason to poll fast";
    EXPECT_EQ(rig.backend.sent.size(), per_tick);
    EXPECT_EQ(rig.chip.counters().tx_walks_deferred, 1u);
    // The driver's demand (it paid an exit) is not held to the wire: the rest goes at once.
    rig.transmit_demand();
    EXPECT_EQ(rig.backend.sent.size(), 10u);
    EXPECT_FALSE(rig.csr(0) & 0x0008);
}

TEST(PcnetTransmitBudget, ASlowerPollCarriesTheSameWireRate) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 4, 7);  // 128 transmit descriptors
    for (uint32_t i = 0; i < 60; ++i) rig.queue_frame(i, make_frame(kOtherHost, 1514, i));
    // 20 ms since the last poll: 25,000 bytes of wire, 17 frames of 1,538 on the wire.
    EXPECT_FALSE(rig.chip.poll(std::chrono::milliseconds(20)));
    EXPECT_EQ(rig.backend.sent.size(), 17u);
    EXPECT_EQ(rig.chip.counters().tx_walks_wire_paced, 1u) << "however long the tick";
    // Back at 2 ms the credit is one 2 ms tick's, less the overdraft (17 * 1538 - 25000).
    rig.chip.poll();
    EXPECT_EQ(rig.backend.sent.size(), 18u);
}

// With the VMM's pacing: a ring that feeds itself lets the poll timer slow to its idle period,
// and over any stretch of time still gets exactly what the wire carries.
TEST(PcnetTransmitBudget, SelfFeedingRingLetsThePollTimerIdleAtTheSameWireRate) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    ring.start();
    const uint64_t walk = frames_per_walk(4000);
    TransmitPollPacer pacer;
    std::chrono::microseconds elapsed{0};
    for (int poll = 0; poll < 200; ++poll) {
        const std::chrono::microseconds period =
            pacer.idle() ? TransmitPollPacer::kIdlePeriod : TransmitPollPacer::kBusyPeriod;
        elapsed += period;
        pacer.after_poll(rig.chip.poll(period));
    }
    EXPECT_TRUE(pacer.idle()) << "the timer runs at 20 ms, not 2 ms, for a self-feeding ring";
    const uint64_t sent = rig.chip.counters().loopback_frames - walk;
    const uint64_t wire = static_cast<uint64_t>(elapsed.count()) * 10 / 8;  // bytes in that time
    const uint64_t on_wire = PcnetChip::wire_bytes(4000);
    EXPECT_LE(sent * on_wire, wire + on_wire);
    EXPECT_GE(sent * on_wire + on_wire, wire);
}

// The lab's TAP sends the odd frame meanwhile; the chip in internal loopback does not hear it
// (can_receive says no), and that must not keep the poll timer fast either.
TEST(PcnetTransmitBudget, FramesTheLoopedBackReceiverCannotHearAreNoWorkForThePoll) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    ring.start();
    EXPECT_FALSE(rig.chip.can_receive()) << "internal loopback: the wire is not heard";
    EXPECT_FALSE(rig.chip.poll());
    EXPECT_FALSE(rig.chip.poll());
}

// The walk drops the chip's lock between frames for waiting register accesses: under a vCPU
// thread's reads and demands every walk still keeps to its budget.
TEST(PcnetTransmitBudget, BudgetHoldsWhileAVcpuHammersTheRegisters) {
    PcnetRig rig;
    SelfFeedingRing ring(rig, 4000);
    ring.start();
    const uint64_t walk = frames_per_walk(4000);
    rig.write16(0x12, 0);  // RAP = CSR0 for the hammering thread
    constexpr int kPolls = 200;
    std::atomic<bool> done = false;
    std::thread io_thread([&] {
        for (int i = 0; i < kPolls; ++i) rig.chip.poll();
        done = true;
    });
    uint64_t demands = 0;
    while (!done) {
        (void)rig.read16(0x10);
        rig.write16(0x10, 0x0048);  // TDMD | IENA
        ++demands;
    }
    io_thread.join();
    const auto counters = rig.chip.counters();
    EXPECT_GT(demands, 0u);
    // After STRT's walk every walk (a poll's or a demand's) sent one 4000-byte frame, the
    // wire's share; a demand that met a walk in progress joined it and bought nothing.
    EXPECT_EQ(counters.loopback_frames - walk, counters.tx_batches - 1);
    // The polls' share is the wire's (a frame per 4,024 bytes of ticks), the demands' a frame
    // each at most.
    const uint64_t polls_share = kPolls * kWire.bytes / PcnetChip::wire_bytes(4000);
    EXPECT_LE(counters.loopback_frames, walk + polls_share + 1 + demands);
    EXPECT_GE(counters.loopback_frames + 1, walk + polls_share);
}

}  // namespace
}  // namespace hvmm::testing
