#include "vmm/nic_optimizations.h"

#include <gtest/gtest.h>

namespace hvmm {
namespace {

TEST(NicOptimizations, DefaultIsThePapersThree) {
    const NicOptimizations defaults;
    EXPECT_TRUE(defaults.ports && defaults.combine && defaults.notify);
    EXPECT_FALSE(defaults.kick);
    EXPECT_EQ(describe(defaults), "paper");
    EXPECT_EQ(describe(NicOptimizations::all()), "all");
}

TEST(NicOptimizations, NamedSetsParse) {
    EXPECT_EQ(*parse_nic_optimizations("all"), NicOptimizations::all());
    EXPECT_EQ(*parse_nic_optimizations("paper"), NicOptimizations::paper());
    EXPECT_FALSE(parse_nic_optimizations("paper")->kick);
    EXPECT_EQ(describe(NicOptimizations::paper()), "paper");
    EXPECT_EQ(*parse_nic_optimizations("baseline"), NicOptimizations::none());
    EXPECT_EQ(*parse_nic_optimizations("none"), NicOptimizations::none());
}

TEST(NicOptimizations, EachAloneAndInLists) {
    const auto ports = parse_nic_optimizations("ports");
    ASSERT_TRUE(ports);
    EXPECT_TRUE(ports->ports);
    EXPECT_FALSE(ports->combine || ports->notify || ports->kick);
    const auto two = parse_nic_optimizations("notify,combine");
    ASSERT_TRUE(two);
    EXPECT_FALSE(two->ports);
    EXPECT_TRUE(two->combine && two->notify);
    EXPECT_EQ(describe(*two), "combine,notify");
    EXPECT_EQ(describe(*parse_nic_optimizations("ports,combine,notify")), "paper");
    EXPECT_EQ(describe(*parse_nic_optimizations("kick,ports,combine,notify")), "all");
    EXPECT_EQ(describe(*parse_nic_optimizations("kick")), "kick");
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
