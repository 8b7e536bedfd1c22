// Dropping privileges, in a child process per case (they cannot be taken back).
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "sandbox/privileges.h"

namespace hvmm::sandbox {
namespace {

// The "Cap*:", "NoNewPrivs:" and "Uid:" lines of /proc/self/status.
std::map<std::string, std::string> own_status() {
    std::map<std::string, std::string> fields;
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        fields[line.substr(0, colon)] = value;
    }
    return fields;
}

// Runs check in a forked child; the child's exit status (0: every check held).
int in_child(const std::function<int()>& check) {
    const pid_t child = ::fork();
    if (child == 0)
        ::_exit(check());
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(SandboxPrivileges, DropLeavesNoCapabilityAndSetsNoNewPrivs) {
    EXPECT_EQ(
        in_child([] {
            if (!drop_privileges({.drop = true}))
                return 2;
            auto status = own_status();
            if (status["CapEff"] != "0000000000000000" || status["CapPrm"] != "0000000000000000" ||
                status["CapInh"] != "0000000000000000" || status["CapAmb"] != "0000000000000000")
                return 3;
            // Emptied only by a process that had CAP_SETPCAP to do it (root here).
            if (::geteuid() == 0 && status["CapBnd"] != "0000000000000000")
                return 4;
            if (status["NoNewPrivs"] != "1")
                return 5;
            return 0;
        }),
        0);
}

TEST(SandboxPrivileges, NothingIsDroppedWhenNotAsked) {
    EXPECT_EQ(in_child([] {
                  if (!drop_privileges({}))
                      return 2;
                  return own_status()["NoNewPrivs"] == "0" ? 0 : 3;
              }),
              0);
}

TEST(SandboxPrivileges, RunAsSwitchesARootProcessForGoodAndIsRefusedToOthers) {
    const auto nobody = look_up_user("nobody");
    ASSERT_TRUE(nobody.has_value());
    if (::geteuid() != 0) {
        // Not root (a developer's run): the switch is refused, in one line, and nothing changes.
        const auto refused = drop_privileges({.drop = false, .run_as = "nobody"});
        ASSERT_FALSE(refused.has_value());
        EXPECT_EQ(refused.error().message,
                  "--user nobody: only an hvmm started as root can switch users");
        return;
    }
    EXPECT_EQ(in_child([&] {
                  if (!drop_privileges({.drop = true, .run_as = "nobody"}))
                      return 2;
                  uid_t real, effective, saved;
                  ::getresuid(&real, &effective, &saved);
                  if (real != nobody->uid || effective != nobody->uid || saved != nobody->uid)
                      return 3;
                  if (::setuid(0) == 0 || ::getegid() != nobody->gid)
                      return 4;
                  return own_status()["CapEff"] == "0000000000000000" ? 0 : 5;
              }),
              0);
}

TEST(SandboxPrivileges, AUserMayBeGivenByNumber) {
    const auto both = look_up_user("65534:100");
    ASSERT_TRUE(both.has_value());
    EXPECT_EQ(both->uid, 65534u);
    EXPECT_EQ(both->gid, 100u);
    const auto uid_only = look_up_user("1234");
    ASSERT_TRUE(uid_only.has_value());
    EXPECT_EQ(uid_only->gid, 1234u);
    for (const char* bad : {"12:", "12:x", "12x", "4294967295"}) {
        EXPECT_FALSE(look_up_user(bad).has_value()) << bad;
    }
}

TEST(SandboxPrivileges, AnUnknownUserIsOneLine) {
    const auto missing = look_up_user("no-such-user-hvmm");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().message, "--user no-such-user-hvmm: no such user");
}

}  // namespace
}  // namespace hvmm::sandbox
