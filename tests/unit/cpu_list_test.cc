#include "base/cpu_list.h"

#include <gtest/gtest.h>

namespace hvmm {
namespace {

int count(const cpu_set_t& cpus) {
    return CPU_COUNT(&cpus);
}

TEST(CpuList, SingleCpu) {
    auto cpus = parse_cpu_list("0");
    ASSERT_TRUE(cpus) << cpus.error().message;
    EXPECT_EQ(count(*cpus), 1);
    EXPECT_TRUE(CPU_ISSET(0, &*cpus));
}

TEST(CpuList, RangesAndSingles) {
    auto cpus = parse_cpu_list("1-3,5,7-7");
    ASSERT_TRUE(cpus) << cpus.error().message;
    EXPECT_EQ(count(*cpus), 5);
    for (int cpu : {1, 2, 3, 5, 7}) {
        EXPECT_TRUE(CPU_ISSET(cpu, &*cpus)) << cpu;
    }
    EXPECT_FALSE(CPU_ISSET(0, &*cpus));
    EXPECT_FALSE(CPU_ISSET(4, &*cpus));
}

TEST(CpuList, MalformedListsAreRefusedWithTheOffendingPart) {
    for (const char* bad : {"", ",", "1,", "a", "1-", "-1", "3-1", "1 ", "0x1", "99999", "1--2"}) {
        auto cpus = parse_cpu_list(bad);
        EXPECT_FALSE(cpus) << "'" << bad << "' was accepted";
        if (!cpus) {
            EXPECT_NE(cpus.error().message.find("CPU list"), std::string::npos)
                << cpus.error().message;
        }
    }
    EXPECT_NE(parse_cpu_list("3-1").error().message.find("backwards"), std::string::npos);
}

TEST(CpuList, PinningTheCallingThreadTakesEffect) {
    cpu_set_t before;
    ASSERT_EQ(::pthread_getaffinity_np(::pthread_self(), sizeof(before), &before), 0);
    int first = 0;
    while (!CPU_ISSET(first, &before)) {
        ++first;
    }
    auto cpus = parse_cpu_list(std::to_string(first));
    ASSERT_TRUE(cpus);
    ASSERT_TRUE(pin_current_thread(*cpus, std::to_string(first)));
    cpu_set_t after;
    ASSERT_EQ(::pthread_getaffinity_np(::pthread_self(), sizeof(after), &after), 0);
    EXPECT_EQ(CPU_COUNT(&after), 1);
    EXPECT_TRUE(CPU_ISSET(first, &after));
    ASSERT_EQ(::pthread_setaffinity_np(::pthread_self(), sizeof(before), &before), 0);
}

}  // namespace
}  // namespace hvmm
