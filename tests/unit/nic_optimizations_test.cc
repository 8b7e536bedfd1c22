#include "vmm/nic_optimizations.h"

#include <gtest/gtest.h>

namespace hvmm {
namespace {

TEST(NicOptimizations, DefaultIsAllOfThem) {
    const NicOptimizations defaults;
    EXPECT_TRUE(defaults.ports && defaults.combine && defaults.notify);
    EXPECT_EQ(describe(defaults), "all");
}

TEST(NicOptimizations, NamedSetsParse) {
    EXPECT_EQ(*parse_nic_optimizations("all"), NicOptimizations{});
    EXPECT_EQ(*parse_nic_optimizations("paper"), NicOptimizations{});
    EXPECT_EQ(*parse_nic_optimizations("baseline"), NicOptimizations::none());
    EXPECT_EQ(*parse_nic_optimizations("none"), NicOptimizations::none());
}

TEST(NicOptimizations, EachAloneAndInLists) {
    const auto ports = parse_nic_optimizations("ports");
    ASSERT_TRUE(ports);
    EXPECT_TRUE(ports->ports);
    EXPECT_FALSE(ports->combine || ports->notify);
    const auto two = parse_nic_optimizations("notify,combine");
    ASSERT_TRUE(two);
    EXPECT_FALSE(two->ports);
    EXPECT_TRUE(two->combine && two->notify);
    EXPECT_EQ(describe(*two), "combine,notify");
    EXPECT_EQ(describe(*parse_nic_optimizations("ports,combine,notify")), "all");
}

TEST(NicOptimizations, BadListsAreOneLineErrors) {
    for (const char* bad : {"", "fast", "ports,", ",ports", "ports,ports", "ports;combine", "ALL"}) {
        const auto parsed = parse_nic_optimizations(bad);
        ASSERT_FALSE(parsed) << bad;
        EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos);
        EXPECT_NE(parsed.error().message.find("--nic-opt"), std::string::npos);
    }
}

}  // namespace
}  // namespace hvmm
