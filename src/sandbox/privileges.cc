#include "sandbox/privileges.h"

#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <vector>

#include "base/log.h"

namespace hvmm::sandbox {
namespace {

std::optional<UserIds> numeric_ids(const std::string& text) {
    unsigned long uid = 0, gid = 0;
    char* end = nullptr;
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
        return std::nullopt;
    uid = std::strtoul(text.c_str(), &end, 10);
    gid = uid;
    if (*end == ':') {
        const char* gid_text = end + 1;
        if (!std::isdigit(static_cast<unsigned char>(*gid_text)))
            return std::nullopt;
        gid = std::strtoul(gid_text, &end, 10);
    }
    if (*end != '\0' || uid > 0xFFFFFFFEul || gid > 0xFFFFFFFEul)
        return std::nullopt;
    return UserIds{static_cast<uid_t>(uid), static_cast<gid_t>(gid)};
}

unsigned count_threads() {
    unsigned count = 0;
    if (DIR* tasks = ::opendir("/proc/self/task")) {
        while (const dirent* entry = ::readdir(tasks)) {
            if (entry->d_name[0] != '.')
                ++count;
        }
        ::closedir(tasks);
    }
    return count;
}

// The bounding set limits what an exec could ever gain; emptying it needs CAP_SETPCAP, which only
// a root-started hvmm has (an unprivileged one has nothing to bound, and no_new_privs anyway).
void empty_bounding_set() {
    for (int capability = 0; capability <= 63; ++capability) {
        if (::prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && errno == EINVAL)
            break;  // past the kernel's last capability
    }
}

Result<void> switch_user(const std::string& name) {
    const UserIds ids = HVMM_TRY(look_up_user(name));
    if (::geteuid() != 0) {
        return fail("--user {}: only an hvmm started as root can switch users", name);
    }
    // Supplementary groups are the user's own (kvm, say), so the user's rights are exactly its;
    // a user given by number has none.
    const bool by_number = numeric_ids(name).has_value();
    if (by_number ? ::setgroups(0, nullptr) != 0 : ::initgroups(name.c_str(), ids.gid) != 0) {
        return fail_errno("--user {}: cannot take on its groups", name);
    }
    if (::setresgid(ids.gid, ids.gid, ids.gid) != 0 ||
        ::setresuid(ids.uid, ids.uid, ids.uid) != 0) {
        return fail_errno("--user {}: cannot switch to it", name);
    }
    if (::setresuid(0, 0, 0) == 0) {
        return fail("--user {}: could switch back to root after switching", name);
    }
    return {};
}

Result<void> clear_capabilities() {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        return fail_errno("cannot clear the ambient capabilities");
    }
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3]{};
    if (::syscall(SYS_capset, &header, none) != 0) {
        return fail_errno("cannot drop capabilities");
    }
    return {};
}

}  // namespace

Result<UserIds> look_up_user(const std::string& name) {
    if (const auto numeric = numeric_ids(name))
        return *numeric;
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(16384);
    const int error = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (found == nullptr) {
        return fail("--user {}: no such user{}", name,
                    error != 0 ? " (cannot read the user database)" : "");
    }
    return UserIds{entry.pw_uid, entry.pw_gid};
}

Result<void> drop_privileges(const PrivilegeSettings& settings) {
    if (!settings.drop && !settings.run_as)
        return {};
    if (const unsigned threads = count_threads(); threads > 1) {
        // Only this thread would lose them: a bug in hvmm's start-up order, said plainly.
        log::warn("dropping privileges with {} threads running: only this thread's are dropped",
                  threads);
    }
    if (settings.drop) {
        empty_bounding_set();
    }
    if (settings.run_as) {
        HVMM_TRY_VOID(switch_user(*settings.run_as));
    }
    if (settings.drop) {
        HVMM_TRY_VOID(clear_capabilities());
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            return fail_errno("cannot set no_new_privs");
        }
    }
    return {};
}

}  // namespace hvmm::sandbox
