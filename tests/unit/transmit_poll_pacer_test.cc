#include "vmm/transmit_poll_pacer.h"

#include <gtest/gtest.h>

namespace hvmm {
namespace {

TEST(TransmitPollPacer, TenEmptyPollsInARowSlowTheTimer) {
    TransmitPollPacer pacer;
    for (unsigned i = 1; i < TransmitPollPacer::kEmptyPollsBeforeIdle; ++i) {
        EXPECT_FALSE(pacer.after_poll(false)) << "poll " << i;
    }
    EXPECT_EQ(pacer.after_poll(false), TransmitPollPacer::kIdlePeriod);
    EXPECT_TRUE(pacer.idle());
    EXPECT_FALSE(pacer.after_poll(false)) << "already slow: nothing to change";
}

TEST(TransmitPollPacer, APollWithWorkBringsTheFastPeriodBack) {
    TransmitPollPacer pacer;
    for (unsigned i = 0; i < TransmitPollPacer::kEmptyPollsBeforeIdle; ++i) pacer.after_poll(false);
    ASSERT_TRUE(pacer.idle());
    EXPECT_EQ(pacer.after_poll(true), TransmitPollPacer::kBusyPeriod);
    EXPECT_FALSE(pacer.idle());
    EXPECT_FALSE(pacer.after_poll(true));
}

TEST(TransmitPollPacer, WorkRestartsTheCountOfEmptyPolls) {
    TransmitPollPacer pacer;
    for (unsigned i = 1; i < TransmitPollPacer::kEmptyPollsBeforeIdle; ++i) pacer.after_poll(false);
    EXPECT_FALSE(pacer.after_poll(true));
    for (unsigned i = 1; i < TransmitPollPacer::kEmptyPollsBeforeIdle; ++i) {
        EXPECT_FALSE(pacer.after_poll(false));
    }
    EXPECT_TRUE(pacer.after_poll(false));
}

TEST(TransmitPollPacer, ARevertedChangeIsTriedAgain) {
    TransmitPollPacer pacer;
    for (unsigned i = 0; i < TransmitPollPacer::kEmptyPollsBeforeIdle; ++i) pacer.after_poll(false);
    pacer.revert();  // the timer could not be re-armed: still fast
    EXPECT_FALSE(pacer.idle());
    for (unsigned i = 1; i < TransmitPollPacer::kEmptyPollsBeforeIdle; ++i) pacer.after_poll(false);
    EXPECT_EQ(pacer.after_poll(false), TransmitPollPacer::kIdlePeriod);
}

}  // namespace
}  // namespace hvmm
