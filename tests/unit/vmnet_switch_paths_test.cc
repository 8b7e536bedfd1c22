// Where a named switch's socket, pid file and leases live, and which names are allowed.
#include "vmnet/switch_paths.h"

#include <gtest/gtest.h>

namespace hvmm::vmnet {
namespace {

TEST(VmnetSwitchPaths, RuntimeDirectoryHoldsTheSocketAndCacheTheLeases) {
    const auto paths =
        switch_paths("lan0", {.xdg_runtime_dir = "/run/user/1000", .home = "/home/u", .uid = 1000});
    ASSERT_TRUE(paths) << paths.error().message;
    EXPECT_EQ(paths->directory, "/run/user/1000/hvmm");
    EXPECT_EQ(paths->socket, "/run/user/1000/hvmm/lan0.sock");
    EXPECT_EQ(paths->pid_file, "/run/user/1000/hvmm/lan0.pid");
    EXPECT_EQ(paths->leases_file, "/home/u/.cache/hvmm/switch/lan0.leases.json");
}

TEST(VmnetSwitchPaths, XdgCacheHomeWinsOverHome) {
    const auto paths = switch_paths("lan0", {.xdg_runtime_dir = "/run/user/5",
                                             .xdg_cache_home = "/var/cache/u",
                                             .home = "/home/u",
                                             .uid = 5});
    ASSERT_TRUE(paths);
    EXPECT_EQ(paths->leases_file, "/var/cache/u/hvmm/switch/lan0.leases.json");
}

TEST(VmnetSwitchPaths, WithoutXdgRuntimeDirRootUsesRunAndOthersTheirCache) {
    auto paths = switch_paths("lan0", {.home = "/root", .uid = 0});
    ASSERT_TRUE(paths);
    EXPECT_EQ(paths->socket, "/run/hvmm/lan0.sock");
    paths = switch_paths("lan0", {.home = "/home/u", .uid = 1000});
    ASSERT_TRUE(paths);
    EXPECT_EQ(paths->socket, "/home/u/.cache/hvmm/run/lan0.sock");
}

TEST(VmnetSwitchPaths, RelativeEnvironmentPathsAreIgnored) {
    const auto paths = switch_paths(
        "lan0", {.xdg_runtime_dir = "run", .xdg_cache_home = "cache", .home = "/h", .uid = 7});
    ASSERT_TRUE(paths);
    EXPECT_EQ(paths->socket, "/h/.cache/hvmm/run/lan0.sock");
    EXPECT_EQ(paths->leases_file, "/h/.cache/hvmm/switch/lan0.leases.json");
}

TEST(VmnetSwitchPaths, NoDirectoryAtAllIsAnError) {
    EXPECT_FALSE(switch_paths("lan0", {.uid = 1000}));
    const auto root = switch_paths("lan0", {.uid = 0});
    ASSERT_TRUE(root) << "root has /run";
    EXPECT_EQ(root->leases_file, "/run/hvmm/lan0.leases.json");
}

TEST(VmnetSwitchPaths, NamesThatAreNotPlainFileNamesAreRefused) {
    for (const char* name : {"", "../etc", "a/b", ".hidden", "-rf", "with space", "tab\t",
                             "123456789012345678901234567890123"}) {
        EXPECT_FALSE(check_switch_name(name)) << name;
        EXPECT_FALSE(switch_paths(name, {.xdg_runtime_dir = "/run/user/1", .uid = 1})) << name;
    }
    for (const char* name : {"lan0", "a", "my-net_2.test", "12345678901234567890123456789012"}) {
        EXPECT_TRUE(check_switch_name(name)) << name;
    }
}

TEST(VmnetSwitchPaths, SocketPathTooLongForSockaddrUnIsRefused) {
    const std::string deep = "/" + std::string(90, 'd');
    const auto paths = switch_paths("a-long-switch-name", {.xdg_runtime_dir = deep, .uid = 1});
    ASSERT_FALSE(paths);
    EXPECT_NE(paths.error().message.find("shorter"), std::string::npos);
}

}  // namespace
}  // namespace hvmm::vmnet
