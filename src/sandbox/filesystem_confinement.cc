#include "sandbox/filesystem_confinement.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "base/unique_fd.h"

namespace hvmm::sandbox {
namespace {

// The file system rights Landlock ABI 1 handles, then those later ABIs added that apply here.
// LANDLOCK_ACCESS_FS_REFER (ABI 2) is left unhandled: then moving a file between directories is
// always denied, which nothing in hvmm does.
constexpr uint64_t kAbi1Rights =
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
    LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
    LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
    LANDLOCK_ACCESS_FS_MAKE_SYM;
constexpr uint64_t kTruncate = uint64_t{1} << 14;  // LANDLOCK_ACCESS_FS_TRUNCATE, ABI 3
constexpr uint64_t kIoctlDev = uint64_t{1} << 15;  // LANDLOCK_ACCESS_FS_IOCTL_DEV, ABI 5

constexpr uint64_t kReadableFileRights = LANDLOCK_ACCESS_FS_READ_FILE;
constexpr uint64_t kReadableDirectoryRights =
    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
constexpr uint64_t kWritableDirectoryRights =
    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
    kTruncate;

uint64_t handled_rights(int abi) {
    uint64_t rights = kAbi1Rights;
    if (abi >= 3)
        rights |= kTruncate;
    // Device ioctls through a path opened afterwards: none is opened, so none is allowed. The
    // fds opened at set-up (KVM, TAP, vhost) are not affected: Landlock checks at open.
    if (abi >= 5)
        rights |= kIoctlDev;
    return rights;
}

Result<void> allow_path(int ruleset, const std::string& path, uint64_t rights) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            return {};  // nothing there to allow
        return fail_errno("sandbox: cannot open {} for its Landlock rule", path);
    }
    landlock_path_beneath_attr rule{.allowed_access = rights, .parent_fd = fd.get()};
    if (::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
        return fail_errno("sandbox: Landlock refused the rule for {}", path);
    return {};
}

}  // namespace

Result<int> confine_filesystem(const FilesystemAccess& access) {
    const long abi =
        ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1)
        return 0;  // ENOSYS (not built) or EOPNOTSUPP (not enabled at boot)
    const uint64_t handled = handled_rights(static_cast<int>(abi));
    landlock_ruleset_attr attributes{.handled_access_fs = handled};
    UniqueFd ruleset(static_cast<int>(
        ::syscall(SYS_landlock_create_ruleset, &attributes, sizeof attributes, 0)));
    if (!ruleset)
        return fail_errno("sandbox: cannot create a Landlock ruleset");
    for (const auto& file : access.readable_files)
        HVMM_TRY_VOID(allow_path(ruleset.get(), file, kReadableFileRights & handled));
    for (const auto& directory : access.readable_directories)
        HVMM_TRY_VOID(allow_path(ruleset.get(), directory, kReadableDirectoryRights & handled));
    for (const auto& directory : access.writable_directories)
        HVMM_TRY_VOID(allow_path(ruleset.get(), directory, kWritableDirectoryRights & handled));
    for (const auto& directory : access.removable_directories)
        HVMM_TRY_VOID(allow_path(ruleset.get(), directory, LANDLOCK_ACCESS_FS_REMOVE_FILE));
    if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0)
        return fail_errno("sandbox: cannot enforce the Landlock ruleset");
    return static_cast<int>(abi);
}

}  // namespace hvmm::sandbox
