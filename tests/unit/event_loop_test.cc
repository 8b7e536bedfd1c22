#include "base/event_loop.h"

#include <gtest/gtest.h>

#include <thread>

#include "base/event_fd.h"

namespace hvmm {
namespace {

TEST(EventLoop, ReadableFdRunsItsCallbackOnTheLoopThread) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    auto event = EventFd::create();
    ASSERT_TRUE(event);
    uint64_t seen = 0;
    ASSERT_TRUE((*loop)->add_fd(event->fd(), [&](uint32_t) {
        seen = event->consume();
        (*loop)->stop();
    }));
    event->signal();
    event->signal();
    (*loop)->run();
    EXPECT_EQ(seen, 2u);
}

TEST(EventLoop, StopFromAnotherThreadEndsRun) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    std::thread stopper([&] { (*loop)->stop(); });
    (*loop)->run();  // returns: the test would hang otherwise
    stopper.join();
    EXPECT_TRUE((*loop)->stopping());
}

TEST(EventLoop, TimerCallbackRunsRepeatedlyUntilRemoved) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    int ticks = 0;
    auto timer = (*loop)->add_timer(std::chrono::microseconds(100), [&] {
        if (++ticks == 3)
            (*loop)->stop();
    });
    ASSERT_TRUE(timer);
    (*loop)->run();
    EXPECT_EQ(ticks, 3);
    EXPECT_TRUE((*loop)->remove_timer(*timer));
    EXPECT_FALSE((*loop)->remove_timer(*timer));
}

TEST(EventLoop, ATimersPeriodCanBeChanged) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    int ticks = 0;
    // An hour: the test ends only because the new period applies.
    auto timer = (*loop)->add_timer(std::chrono::hours(1), [&] {
        if (++ticks == 2)
            (*loop)->stop();
    });
    ASSERT_TRUE(timer);
    // A watchdog, so a period that did not change fails the test instead of hanging it.
    bool watchdog_fired = false;
    ASSERT_TRUE((*loop)->add_timer(std::chrono::seconds(5), [&] {
        watchdog_fired = true;
        (*loop)->stop();
    }));
    ASSERT_TRUE((*loop)->set_timer_period(*timer, std::chrono::microseconds(100)));
    (*loop)->run();
    EXPECT_FALSE(watchdog_fired) << "the new period never applied";
    EXPECT_EQ(ticks, 2);
    EXPECT_FALSE((*loop)->set_timer_period(*timer, std::chrono::nanoseconds(0)));
    EXPECT_FALSE((*loop)->set_timer_period(*timer + 1000, std::chrono::milliseconds(1)));
}

TEST(EventLoop, AFdCanBeWatchedOnlyOnce) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    auto event = EventFd::create();
    ASSERT_TRUE(event);
    ASSERT_TRUE((*loop)->add_fd(event->fd(), [](uint32_t) {}));
    EXPECT_FALSE((*loop)->add_fd(event->fd(), [](uint32_t) {}));
    EXPECT_TRUE((*loop)->remove_fd(event->fd()));
    EXPECT_FALSE((*loop)->remove_fd(event->fd()));
}

TEST(EventLoop, ACallbackRemovedByAnEarlierOneInTheSameBatchDoesNotRun) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    auto first = EventFd::create();
    auto second = EventFd::create();
    ASSERT_TRUE(first && second);
    int runs = 0;
    auto remove_other = [&](int other_fd) {
        return [&, other_fd](uint32_t) {
            ++runs;
            (*loop)->remove_fd(other_fd);
            (*loop)->stop();
        };
    };
    ASSERT_TRUE((*loop)->add_fd(first->fd(), remove_other(second->fd())));
    ASSERT_TRUE((*loop)->add_fd(second->fd(), remove_other(first->fd())));
    first->signal();
    second->signal();
    (*loop)->run();
    EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace hvmm
