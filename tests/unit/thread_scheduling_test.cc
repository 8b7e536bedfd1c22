// The I/O thread's scheduling policy, set on a thread of this test as hvmm sets it on its own.
#include "base/thread_scheduling.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

namespace hvmm {
namespace {

// The policy a fresh thread ends with after set_current_thread_scheduling(SCHEDULING).
int policy_after(IoThreadScheduling scheduling, std::string& error) {
    int policy = -1;
    std::thread thread([&] {
        if (auto set = set_current_thread_scheduling(scheduling); !set) {
            error = set.error().message;
        }
        policy = ::sched_getscheduler(0);
    });
    thread.join();
    return policy;
}

TEST(ThreadScheduling, BatchAndNormalAreTheKernelsPolicies) {
    std::string error;
    EXPECT_EQ(policy_after(IoThreadScheduling::kBatch, error), SCHED_BATCH) << error;
    EXPECT_EQ(policy_after(IoThreadScheduling::kNormal, error), SCHED_OTHER) << error;
    // Only the calling thread changes: this one is as it started.
    EXPECT_EQ(::sched_getscheduler(0), SCHED_OTHER);
}

TEST(ThreadScheduling, NamesParseBackAutoIsTheCallersAndOthersAreRefused) {
    for (auto scheduling : {IoThreadScheduling::kBatch, IoThreadScheduling::kNormal}) {
        auto parsed = parse_io_thread_scheduling(to_string(scheduling));
        ASSERT_TRUE(parsed);
        EXPECT_EQ(*parsed, scheduling);
    }
    auto automatic = parse_io_thread_scheduling("auto");
    ASSERT_TRUE(automatic);
    EXPECT_FALSE(automatic->has_value());
    EXPECT_FALSE(parse_io_thread_scheduling("idle"));
    EXPECT_FALSE(parse_io_thread_scheduling(""));
}

}  // namespace
}  // namespace hvmm
