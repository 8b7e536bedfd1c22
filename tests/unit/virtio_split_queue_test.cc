// The split virtqueue's device side: configuration checks, popping chains, the used ring,
// notification suppression with and without VIRTIO_F_EVENT_IDX, undo, reset.
#include "devices/virtio/queue/split_queue.h"

#include <gtest/gtest.h>

#include "virtio_mock_driver.h"

namespace hvmm::virtio::testing {
namespace {

// ---- configuration ("Split Virtqueues": sizes and alignment) ----------------------------------

TEST(VirtioSplitQueue, ValidConfigurationActivatesWithIndicesAtZero) {
    VirtqRig rig(256);
    EXPECT_TRUE(rig.queue.enabled());
    EXPECT_FALSE(rig.queue.broken());
    EXPECT_EQ(rig.queue.next_avail(), 0);
    EXPECT_EQ(rig.queue.next_used(), 0);
    EXPECT_EQ(rig.queue.config().size, 256u);
}

TEST(VirtioSplitQueue, SizeMustBeAPowerOfTwoFrom1To32768) {
    const GuestMemory memory = make_test_memory();
    for (const uint32_t size : {1u, 2u, 256u, 32768u}) {
        EXPECT_TRUE(validate(memory, MockDriver(memory, size).config())) << size;
    }
    for (const uint32_t size : {0u, 3u, 6u, 255u, 32769u, 65536u, 0x8000'0000u}) {
        auto config = MockDriver(memory, 16).config();
        config.size = size;
        EXPECT_EQ(validate(memory, config).error(), QueueConfigError::kBadSize) << size;
    }
}

TEST(VirtioSplitQueue, RingAddressesMustBeAlignedAsTheSpecSays) {
    const GuestMemory memory = make_test_memory();
    const auto good = MockDriver(memory, 16).config();
    auto config = good;
    config.desc_table = GuestAddress(kDescTable + 8);
    EXPECT_EQ(validate(memory, config).error(), QueueConfigError::kDescTableMisaligned);
    config = good;
    config.avail_ring = GuestAddress(kAvailRing + 1);
    EXPECT_EQ(validate(memory, config).error(), QueueConfigError::kAvailRingMisaligned);
    config = good;
    config.used_ring = GuestAddress(kUsedRing + 2);
    EXPECT_EQ(validate(memory, config).error(), QueueConfigError::kUsedRingMisaligned);
    // The minimum alignments are enough.
    config = good;
    config.avail_ring = GuestAddress(kAvailRing + 2);
    config.used_ring = GuestAddress(kUsedRing + 4);
    EXPECT_TRUE(validate(memory, config));
}

TEST(VirtioSplitQueue, WholeRingsMustLieInGuestRam) {
    const GuestMemory memory = make_test_memory();
    const auto good = MockDriver(memory, 256).config();
    auto config = good;
    config.desc_table = GuestAddress(kHoleStart);  // device MMIO
    EXPECT_EQ(validate(memory, config).error(), QueueConfigError::kDescTableOutsideRam);
    config = good;
    config.desc_table = GuestAddress(kRamEnd - 16 * 255);  // one descriptor past the end
    EXPECT_EQ(validate(memory, config).error(), QueueConfigError::kDescTableOutsideRam);
    config = good;
    config.avail_ring = GuestAddress(kRamEnd - avail_ring_size(256) + 2);
    EXPECT_EQ(validate(memory, config).error(), QueueConfigError::kAvailRingOutsideRam);
    config = good;
    config.avail_ring = GuestAddress(kRamEnd - avail_ring_size(256));  // ends exactly at the end
    EXPECT_TRUE(validate(memory, config));
    config = good;
    config.used_ring = GuestAddress(~uint64_t{0} - 3);  // address + length overflows
    EXPECT_EQ(validate(memory, config).error(), QueueConfigError::kUsedRingOutsideRam);
    config = good;
    config.used_ring = GuestAddress(kHighRamEnd - 8);
    EXPECT_EQ(validate(memory, config).error(), QueueConfigError::kUsedRingOutsideRam);
}

TEST(VirtioSplitQueue, RefusedActivationLeavesTheQueueDisabled) {
    VirtqRig rig;
    rig.queue.reset();
    auto config = rig.driver.config();
    config.size = 12;
    EXPECT_EQ(rig.queue.activate(config).error(), QueueConfigError::kBadSize);
    EXPECT_FALSE(rig.queue.enabled());
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    EXPECT_FALSE(rig.queue.pop());
}

TEST(VirtioSplitQueue, EachConfigurationErrorHasADescription) {
    for (int e = 0; e <= static_cast<int>(QueueConfigError::kUsedRingOutsideRam); ++e) {
        EXPECT_FALSE(describe(static_cast<QueueConfigError>(e)).starts_with("unknown"));
    }
}

// ---- popping ----------------------------------------------------------------------------------

TEST(VirtioSplitQueue, EmptyRingPopsNothing) {
    VirtqRig rig;
    EXPECT_FALSE(rig.queue.pop());
    EXPECT_FALSE(rig.queue.broken());
}

TEST(VirtioSplitQueue, ChainsComeOutInTheOrderTheDriverMadeThemAvailable) {
    VirtqRig rig;
    const uint16_t first = rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    const uint16_t second =
        rig.driver.add_chain({{rig.driver.alloc(8), 8}, {rig.driver.alloc(4), 4, true}});
    auto a = rig.pop_chain();
    auto b = rig.pop_chain();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->head(), first);
    EXPECT_EQ(b->head(), second);
    EXPECT_EQ(b->writable_bytes(), 4u);
    EXPECT_FALSE(rig.queue.pop());
    EXPECT_EQ(rig.queue.next_avail(), 2);
    EXPECT_EQ(rig.queue.counters().chains, 2u);
}

TEST(VirtioSplitQueue, AvailIdxIsReadOncePerBatch) {
    VirtqRig rig;
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    ASSERT_TRUE(rig.pop_chain());
    // The index read for the first pop covered two entries; the second is taken without
    // reading avail.idx again, so this bogus value is not seen until the batch is used up.
    rig.driver.set_avail_idx(1000);
    ASSERT_TRUE(rig.pop_chain());
    EXPECT_FALSE(rig.queue.broken());
    EXPECT_FALSE(rig.queue.pop());
    EXPECT_TRUE(rig.queue.broken());
}

TEST(VirtioSplitQueue, DisabledQueuePopsNothingAndWritesNothing) {
    VirtqRig rig;
    rig.queue.reset();
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    EXPECT_FALSE(rig.queue.pop());
    rig.queue.add_used(0, 8);
    EXPECT_EQ(rig.driver.used_idx(), 0);
    EXPECT_FALSE(rig.queue.should_notify());
    EXPECT_FALSE(rig.queue.enable_notifications());
}

TEST(VirtioSplitQueue, MalformedChainComesBackWithItsHeadAndThePopAfterItGoesOn) {
    VirtqRig rig;
    rig.driver.add_chain({{kHoleStart, 64}});
    const uint16_t good = rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    const auto bad = rig.pop_malformed();
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->head, 0);
    EXPECT_EQ(bad->error, ChainError::kBufferOutsideRam);
    rig.queue.add_used(*bad);
    EXPECT_EQ(rig.driver.used_idx(), 1);
    EXPECT_EQ(rig.driver.used(0).id, 0u);
    EXPECT_EQ(rig.driver.used(0).len, 0u);
    auto chain = rig.pop_chain();
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->head(), good);
    EXPECT_EQ(rig.queue.counters().malformed_chains, 1u);
    EXPECT_FALSE(rig.queue.broken());
}

TEST(VirtioSplitQueue, UndoPopGivesTheLastChainBackOnce) {
    VirtqRig rig;
    const uint16_t head = rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    ASSERT_TRUE(rig.pop_chain());
    EXPECT_TRUE(rig.queue.undo_pop());
    EXPECT_FALSE(rig.queue.undo_pop());
    auto again = rig.pop_chain();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->head(), head);
    rig.queue.add_used(head, 0);
    EXPECT_FALSE(rig.queue.undo_pop());  // already used
    EXPECT_EQ(rig.queue.counters().chains, 1u);
}

TEST(VirtioSplitQueue, MalformedChainCannotBeUndone) {
    VirtqRig rig;
    rig.driver.add_chain({{kHoleStart, 64}});
    ASSERT_TRUE(rig.pop_malformed());
    EXPECT_FALSE(rig.queue.undo_pop());
    EXPECT_EQ(rig.queue.next_avail(), 1);
}

// ---- the used ring ------------------------------------------------------------------------------

TEST(VirtioSplitQueue, AddUsedWritesTheEntryAndAdvancesUsedIdx) {
    VirtqRig rig;
    const uint16_t head = rig.driver.add_chain({{rig.driver.alloc(64), 64, true}});
    auto chain = rig.pop_chain();
    ASSERT_TRUE(chain);
    rig.queue.add_used(chain->head(), 42);
    EXPECT_EQ(rig.driver.used_idx(), 1);
    EXPECT_EQ(rig.driver.used(0).id, head);
    EXPECT_EQ(rig.driver.used(0).len, 42u);
    EXPECT_EQ(rig.queue.next_used(), 1);
    EXPECT_EQ(rig.queue.counters().used, 1u);
}

TEST(VirtioSplitQueue, RingsWrapAtTheQueueSizeAndIndicesAt65535) {
    // 65536 + 20 round trips on a queue of 4: every ring slot is reused many times and both
    // free-running indices pass 65535 -> 0.
    VirtqRig rig(4);
    const uint64_t buffer = rig.driver.alloc(16);
    for (uint32_t i = 0; i < 65536 + 20; ++i) {
        const uint16_t head = rig.driver.add_chain({{buffer, 16, true}});
        auto popped = rig.queue.pop();
        ASSERT_TRUE(popped && *popped) << i;
        ASSERT_EQ((*popped)->head(), head);
        rig.queue.add_used(head, i);
        ASSERT_EQ(rig.driver.used_idx(), static_cast<uint16_t>(i + 1));
        ASSERT_EQ(rig.driver.used(static_cast<uint16_t>(i)).len, i);
    }
    EXPECT_EQ(rig.queue.next_avail(), 20);
    EXPECT_EQ(rig.queue.next_used(), 20);
    EXPECT_FALSE(rig.queue.broken());
}

// ---- used buffer notifications without EVENT_IDX
// -------------------------------------------------

TEST(VirtioSplitQueue, NotifiesAfterUsedUnlessTheDriverSetNoInterrupt) {
    VirtqRig rig;
    EXPECT_FALSE(rig.queue.should_notify());  // nothing used yet
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    rig.queue.add_used(rig.pop_head(), 0);
    EXPECT_TRUE(rig.queue.should_notify());
    EXPECT_FALSE(rig.queue.should_notify());  // the same entries are not notified twice
    rig.driver.set_avail_flags(kAvailFlagNoInterrupt);
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    rig.queue.add_used(rig.pop_head(), 0);
    EXPECT_FALSE(rig.queue.should_notify());
    EXPECT_EQ(rig.queue.counters().notifications, 1u);
}

TEST(VirtioSplitQueue, WithoutEventIdxTheUsedEventIsIgnored) {
    VirtqRig rig;
    rig.driver.set_used_event(100);
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    rig.queue.add_used(rig.pop_head(), 0);
    EXPECT_TRUE(rig.queue.should_notify());
}

// ---- available buffer notifications without EVENT_IDX ----------------------------------------

TEST(VirtioSplitQueue, DisableNotificationsSetsNoNotifyAndEnableClearsIt) {
    VirtqRig rig;
    EXPECT_EQ(rig.driver.used_flags(), 0);
    rig.queue.disable_notifications();
    EXPECT_EQ(rig.driver.used_flags(), kUsedFlagNoNotify);
    EXPECT_FALSE(rig.queue.enable_notifications());
    EXPECT_EQ(rig.driver.used_flags(), 0);
}

TEST(VirtioSplitQueue, EnableNotificationsReportsBuffersThatArrivedWhileOff) {
    VirtqRig rig;
    rig.queue.disable_notifications();
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});  // the driver saw NO_NOTIFY: no kick
    EXPECT_TRUE(rig.queue.enable_notifications());
    ASSERT_TRUE(rig.pop_chain());
    EXPECT_FALSE(rig.queue.enable_notifications());
}

// ---- with EVENT_IDX -----------------------------------------------------------------------------

TEST(VirtioSplitQueue, NeedEventIsTrueExactlyWhenUsedIdxCrossesTheEvent) {
    // Entries old .. new - 1 were written; notify iff the event is one of them.
    EXPECT_TRUE(need_event(0, 1, 0));
    EXPECT_FALSE(need_event(1, 1, 0));
    EXPECT_TRUE(need_event(3, 5, 2));
    EXPECT_TRUE(need_event(2, 5, 2));
    EXPECT_TRUE(need_event(4, 5, 2));
    EXPECT_FALSE(need_event(5, 5, 2));
    EXPECT_FALSE(need_event(1, 5, 2));
    EXPECT_FALSE(need_event(7, 7, 7));  // nothing written
    // Across the wrap at 65535: entries 65534, 65535, 0, 1 written.
    EXPECT_TRUE(need_event(65535, 2, 65534));
    EXPECT_TRUE(need_event(0, 2, 65534));
    EXPECT_TRUE(need_event(65534, 2, 65534));
    EXPECT_TRUE(need_event(1, 2, 65534));
    EXPECT_FALSE(need_event(2, 2, 65534));
    EXPECT_FALSE(need_event(65533, 2, 65534));
    EXPECT_TRUE(need_event(65535, 0, 65535));
    EXPECT_FALSE(need_event(0, 0, 65535));
}

TEST(VirtioSplitQueue, WithEventIdxNotifiesOnlyWhenTheUsedEventIsReached) {
    VirtqRig rig(16, true);
    rig.driver.set_used_event(2);  // "notify me after you write used entry 2"
    const uint64_t buffer = rig.driver.alloc(8);
    for (int i = 0; i < 4; ++i) rig.driver.add_chain({{buffer, 8}});
    rig.queue.add_used(rig.pop_head(), 0);
    EXPECT_FALSE(rig.queue.should_notify());
    rig.queue.add_used(rig.pop_head(), 0);
    EXPECT_FALSE(rig.queue.should_notify());
    rig.queue.add_used(rig.pop_head(), 0);  // entry 2
    EXPECT_TRUE(rig.queue.should_notify());
    rig.queue.add_used(rig.pop_head(), 0);
    EXPECT_FALSE(rig.queue.should_notify());
}

TEST(VirtioSplitQueue, WithEventIdxABatchPastTheEventNotifiesOnce) {
    VirtqRig rig(16, true);
    rig.driver.set_used_event(1);
    const uint64_t buffer = rig.driver.alloc(8);
    for (int i = 0; i < 5; ++i) rig.driver.add_chain({{buffer, 8}});
    for (int i = 0; i < 5; ++i) rig.queue.add_used(rig.pop_head(), 0);
    EXPECT_TRUE(rig.queue.should_notify());
    EXPECT_FALSE(rig.queue.should_notify());
}

TEST(VirtioSplitQueue, WithEventIdxTheNoInterruptFlagIsIgnored) {
    VirtqRig rig(16, true);
    rig.driver.set_avail_flags(kAvailFlagNoInterrupt);
    rig.driver.set_used_event(0);
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    rig.queue.add_used(rig.pop_head(), 0);
    EXPECT_TRUE(rig.queue.should_notify());
}

TEST(VirtioSplitQueue, WithEventIdxNotificationAtTheWrapOfUsedIdx) {
    // used_event 65535: exactly one notification, for the 65536th entry, none before it.
    VirtqRig rig(8, true);
    rig.driver.set_used_event(65535);
    const uint64_t buffer = rig.driver.alloc(8);
    uint32_t notified = 0;
    uint32_t notified_at = 0;
    for (uint32_t i = 0; i < 65536 + 8; ++i) {
        rig.driver.add_chain({{buffer, 8}});
        auto popped = rig.queue.pop();
        ASSERT_TRUE(popped && *popped);
        rig.queue.add_used((*popped)->head(), 0);
        if (rig.queue.should_notify()) {
            ++notified;
            notified_at = i;
        }
    }
    EXPECT_EQ(notified, 1u);
    EXPECT_EQ(notified_at, 65535u);
}

TEST(VirtioSplitQueue, WithEventIdxActivationAsksForAKickAtTheFirstEntry) {
    const GuestMemory memory = make_test_memory();
    MockDriver driver(memory, 16);
    driver.put<uint16_t>(kUsedRing + avail_event_offset(16), 0x1234);  // stale ring memory
    driver.put<uint16_t>(kUsedRing + kRingFlagsOffset, kUsedFlagNoNotify);
    SplitQueue queue(memory);
    ASSERT_TRUE(queue.activate(driver.config(true)));
    EXPECT_EQ(driver.avail_event(), 0);
    EXPECT_EQ(driver.used_flags(), 0);
}

TEST(VirtioSplitQueue, WithEventIdxEnableWritesAvailEventAndDisableLeavesFlagsAtZero) {
    VirtqRig rig(16, true);
    const uint64_t buffer = rig.driver.alloc(8);
    rig.driver.add_chain({{buffer, 8}});
    rig.driver.add_chain({{buffer, 8}});
    rig.queue.disable_notifications();
    EXPECT_EQ(rig.driver.used_flags(), 0);  // the device MUST keep flags 0 with EVENT_IDX
    ASSERT_TRUE(rig.pop_chain());
    EXPECT_TRUE(rig.queue.enable_notifications());  // one more is waiting
    EXPECT_EQ(rig.driver.avail_event(), 1);
    ASSERT_TRUE(rig.pop_chain());
    EXPECT_FALSE(rig.queue.enable_notifications());
    EXPECT_EQ(rig.driver.avail_event(), 2);
    // The driver's side of the contract: after adding entry 2 it kicks, since avail.idx
    // stepped past avail_event.
    EXPECT_TRUE(need_event(rig.driver.avail_event(), 3, 2));
}

// ---- broken and reset ---------------------------------------------------------------------------

TEST(VirtioSplitQueue, AvailIdxExactlyTheQueueSizeAheadIsAFullRing) {
    VirtqRig rig(4);
    const uint64_t buffer = rig.driver.alloc(8);
    for (int i = 0; i < 4; ++i) rig.driver.add_chain({{buffer, 8}});
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(rig.pop_chain());
    EXPECT_FALSE(rig.queue.pop());
    EXPECT_FALSE(rig.queue.broken());
}

TEST(VirtioSplitQueue, BrokenQueueIgnoresEverythingUntilReset) {
    VirtqRig rig(4);
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    rig.driver.set_avail_idx(5);
    EXPECT_FALSE(rig.queue.pop());
    ASSERT_TRUE(rig.queue.broken());
    rig.driver.set_avail_idx(1);  // even a sane index now is not looked at
    EXPECT_FALSE(rig.queue.pop());
    rig.queue.add_used(0, 8);
    EXPECT_EQ(rig.driver.used_idx(), 0);
    EXPECT_FALSE(rig.queue.should_notify());
    EXPECT_FALSE(rig.queue.enable_notifications());
    EXPECT_EQ(rig.queue.counters().broken, 1u);
}

TEST(VirtioSplitQueue, ResetDisablesAndReactivationStartsAfresh) {
    VirtqRig rig(4);
    rig.driver.add_chain({{rig.driver.alloc(8), 8}});
    rig.driver.set_avail_idx(200);
    EXPECT_FALSE(rig.queue.pop());
    ASSERT_TRUE(rig.queue.broken());
    rig.queue.reset();
    EXPECT_FALSE(rig.queue.enabled());
    EXPECT_FALSE(rig.queue.broken());
    EXPECT_EQ(rig.queue.config().size, 0u);

    // The driver sets the queue up again from zero.
    MockDriver driver(rig.memory, 4);
    driver.put<uint16_t>(kUsedRing + kRingIdxOffset, 0);
    const uint16_t head = driver.add_chain({{driver.alloc(8), 8}});
    ASSERT_TRUE(rig.queue.activate(driver.config()));
    EXPECT_EQ(rig.queue.next_avail(), 0);
    auto popped = rig.queue.pop();
    ASSERT_TRUE(popped && *popped);
    EXPECT_EQ((*popped)->head(), head);
    rig.queue.add_used(head, 1);
    EXPECT_EQ(driver.used_idx(), 1);
    EXPECT_EQ(rig.queue.counters().broken, 1u);  // counters survive a reset
}

}  // namespace
}  // namespace hvmm::virtio::testing
