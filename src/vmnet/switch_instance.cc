#include "vmnet/switch_instance.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>

#include <fmt/core.h>

namespace hvmm::vmnet {
namespace {

// The lock fd, once flock() succeeded on a file still at `path`: a lock taken on a file that a
// stopping daemon unlinked meanwhile would lock nothing anyone else can see, so that case
// retries with the new file.
Result<std::optional<UniqueFd>> lock_file(const std::string& path, bool create) {
    for (int attempt = 0; attempt < 8; ++attempt) {
        UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600));
        if (!fd) {
            if (errno == ENOENT && !create) {
                return std::optional<UniqueFd>{};
            }
            return fail_errno("cannot open {}", path);
        }
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK) {
                return std::optional<UniqueFd>{};
            }
            return fail_errno("cannot lock {}", path);
        }
        struct stat held {}, named {};
        if (::fstat(fd.get(), &held) == 0 && ::stat(path.c_str(), &named) == 0 &&
            held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
            return std::optional<UniqueFd>(std::move(fd));
        }
        if (!create) {
            return std::optional<UniqueFd>{};  // it went away: nothing to lock
        }
    }
    return fail("cannot lock {}: it keeps being replaced", path);
}

void unlink_quietly(const std::string& path) {
    ::unlink(path.c_str());
}

}  // namespace

Result<void> make_private_directory(const std::string& directory) {
    // Parents first (a cache directory's may be missing); only the last one must be private.
    for (size_t slash = directory.find('/', 1); slash != std::string::npos;
         slash = directory.find('/', slash + 1)) {
        const std::string parent = directory.substr(0, slash);
        if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
            return fail_errno("cannot create directory {}", parent);
        }
    }
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
        return fail_errno("cannot create directory {}", directory);
    }
    struct stat status {};
    if (::lstat(directory.c_str(), &status) != 0) {
        return fail_errno("cannot examine {}", directory);
    }
    if (!S_ISDIR(status.st_mode)) {
        return fail("{} is not a directory", directory);
    }
    if (status.st_uid != ::getuid()) {
        return fail("{} belongs to another user (uid {}): switches need a directory of their own",
                    directory, status.st_uid);
    }
    if ((status.st_mode & 0077) != 0 && ::chmod(directory.c_str(), 0700) != 0) {
        return fail_errno("cannot make {} private (mode 0700)", directory);
    }
    return {};
}

Result<UniqueFd> acquire_switch_lock(std::string_view name, const SwitchPaths& paths) {
    HVMM_TRY_VOID(make_private_directory(paths.directory));
    auto lock = HVMM_TRY(lock_file(paths.lock_file, /*create=*/true));
    if (!lock) {
        const auto pid = read_switch_pid(paths);
        return fail("switch '{}' is already running{}", name,
                    pid ? fmt::format(" (pid {})", *pid) : std::string());
    }
    // Ours now: whatever else is here was left by a daemon that died.
    unlink_quietly(paths.socket);
    unlink_quietly(paths.control_socket);
    unlink_quietly(paths.pid_file);
    return std::move(*lock);
}

bool switch_running(const SwitchPaths& paths) {
    UniqueFd fd(::open(paths.lock_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return false;
    }
    if (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0) {
        return errno == EWOULDBLOCK;
    }
    return false;  // our shared lock goes with fd
}

std::optional<pid_t> read_switch_pid(const SwitchPaths& paths) {
    UniqueFd fd(::open(paths.pid_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return std::nullopt;
    }
    char text[32] = {};
    const ssize_t n = ::read(fd.get(), text, sizeof text - 1);
    if (n <= 0) {
        return std::nullopt;
    }
    pid_t pid = 0;
    const auto [end, error] = std::from_chars(text, text + n, pid);
    if (error != std::errc{} || pid <= 0) {
        return std::nullopt;
    }
    return pid;
}

Result<void> write_switch_pid(const SwitchPaths& paths, pid_t pid) {
    const std::string temporary = paths.pid_file + ".tmp";
    UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) {
        return fail_errno("cannot create {}", temporary);
    }
    const std::string text = fmt::format("{}\n", pid);
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        return fail_errno("cannot write {}", temporary);
    }
    if (::rename(temporary.c_str(), paths.pid_file.c_str()) != 0) {
        return fail_errno("cannot rename {} to {}", temporary, paths.pid_file);
    }
    return {};
}

void remove_switch_files(const SwitchPaths& paths) {
    unlink_quietly(paths.socket);
    unlink_quietly(paths.control_socket);
    unlink_quietly(paths.pid_file);
    // Last, and while the caller still holds it: a starter that opened the old file finds it
    // unlinked after its flock() and tries again with a new one.
    unlink_quietly(paths.lock_file);
}

bool clean_dead_switch(const SwitchPaths& paths) {
    const auto exists = [](const std::string& path) { return ::access(path.c_str(), F_OK) == 0; };
    if (!exists(paths.lock_file) && !exists(paths.socket) && !exists(paths.pid_file) &&
        !exists(paths.control_socket)) {
        return false;
    }
    auto lock = lock_file(paths.lock_file, /*create=*/true);
    if (!lock || !*lock) {
        return false;  // running (or the directory is not ours to clean)
    }
    remove_switch_files(paths);
    return true;
}

std::vector<std::string> switch_names_in(const std::string& directory) {
    std::set<std::string> names;
    DIR* dir = ::opendir(directory.c_str());
    if (dir == nullptr) {
        return {};
    }
    while (const dirent* entry = ::readdir(dir)) {
        const std::string_view file = entry->d_name;
        for (const std::string_view suffix : {".sock", ".ctl", ".pid", ".lock"}) {
            if (file.size() > suffix.size() && file.ends_with(suffix)) {
                const std::string name(file.substr(0, file.size() - suffix.size()));
                if (check_switch_name(name)) {
                    names.insert(name);
                }
            }
        }
    }
    ::closedir(dir);
    return {names.begin(), names.end()};
}

}  // namespace hvmm::vmnet
