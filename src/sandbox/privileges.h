// Giving up what hvmm no longer needs once its devices are open: for a run started as root, the
// user it should become (--user), and for every run no capability in any set, no_new_privs, so
// nothing it could still exec would gain any. Process-wide: called while the calling thread is
// the only one (capabilities belong to threads; new threads copy their creator's).
#pragma once

#include <optional>
#include <string>

#include "base/error.h"

namespace hvmm::sandbox {

struct PrivilegeSettings {
    bool drop = false;                  // capabilities and no_new_privs
    std::optional<std::string> run_as;  // NAME or UID[:GID]: switch to it (root only)
};

Result<void> drop_privileges(const PrivilegeSettings& settings);

// For `--user` checks at option time: a user name that exists, or UID[:GID] in numbers (a host
// without a user database, such as the lab's initramfs; GID defaults to UID), else an error.
struct UserIds {
    uid_t uid;
    gid_t gid;
};
Result<UserIds> look_up_user(const std::string& name);

}  // namespace hvmm::sandbox
