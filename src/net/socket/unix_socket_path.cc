#include "net/socket/unix_socket_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "base/unique_fd.h"

namespace hvmm::net {

Result<UnixAddress> unix_address(std::string_view path) {
    UnixAddress result;
    result.address.sun_family = AF_UNIX;
    if (path.empty()) {
        return fail("a Unix socket path is empty");
    }
    if (path.find('\0') != std::string_view::npos) {
        return fail("Unix socket path '{}' contains a NUL byte", path);
    }
    // One byte stays for the terminating NUL, so the kernel never has to guess the length.
    if (path.size() >= sizeof(result.address.sun_path)) {
        return fail("Unix socket path '{}' is {} bytes; at most {} fit in a socket address", path,
                    path.size(), sizeof(result.address.sun_path) - 1);
    }
    std::memcpy(result.address.sun_path, path.data(), path.size());
    result.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return result;
}

Result<void> check_not_other_file(std::string_view path) {
    const std::string owned(path);
    struct stat status {};
    if (::lstat(owned.c_str(), &status) == 0 && !S_ISSOCK(status.st_mode)) {
        return fail("'{}' exists and is not a socket", path);
    }
    return {};
}

Result<void> claim_socket_path(std::string_view path, int type) {
    const UnixAddress address = HVMM_TRY(unix_address(path));
    const std::string owned(path);
    struct stat status {};
    if (::lstat(owned.c_str(), &status) != 0) {
        if (errno == ENOENT) {
            return {};
        }
        return fail_errno("cannot examine '{}'", path);
    }
    if (!S_ISSOCK(status.st_mode)) {
        return fail("'{}' exists and is not a socket", path);
    }
    // A socket file outlives the process that bound it. Only a connection attempt tells a dead
    // one (ECONNREFUSED) from a live one, which must not be taken from its owner.
    UniqueFd probe(::socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!probe) {
        return fail_errno("cannot make a socket to probe '{}'", path);
    }
    if (::connect(probe.get(), address.get(), address.length) == 0 || errno == EAGAIN) {
        // EAGAIN: a listener whose backlog is full is alive too.
        return fail("'{}' is in use by another process (a live socket is bound there)", path);
    }
    if (errno == EPROTOTYPE) {
        return fail("'{}' is a socket of another kind (not {}) in use by another process", path,
                    type == SOCK_STREAM ? "stream" : "datagram");
    }
    if (errno != ECONNREFUSED && errno != ENOENT) {
        return fail_errno("cannot probe the socket '{}'", path);
    }
    if (::unlink(owned.c_str()) != 0 && errno != ENOENT) {
        return fail_errno("cannot remove the stale socket '{}'", path);
    }
    return {};
}

Result<BoundSocketPath> BoundSocketPath::record(std::string_view path) {
    BoundSocketPath bound;
    bound.path_ = std::string(path);
    struct stat status {};
    if (::lstat(bound.path_.c_str(), &status) != 0) {
        return fail_errno("cannot examine the socket just bound at '{}'", path);
    }
    bound.device_ = status.st_dev;
    bound.inode_ = status.st_ino;
    return bound;
}

BoundSocketPath::BoundSocketPath(BoundSocketPath&& other) noexcept
    : path_(std::exchange(other.path_, {})), device_(other.device_), inode_(other.inode_) {}

BoundSocketPath& BoundSocketPath::operator=(BoundSocketPath&& other) noexcept {
    if (this != &other) {
        remove();
        path_ = std::exchange(other.path_, {});
        device_ = other.device_;
        inode_ = other.inode_;
    }
    return *this;
}

void BoundSocketPath::remove() {
    if (path_.empty()) {
        return;
    }
    struct stat status {};
    if (::lstat(path_.c_str(), &status) == 0 && status.st_dev == device_ &&
        status.st_ino == inode_) {
        ::unlink(path_.c_str());
    }
    path_.clear();
}

Result<BoundSocketPath> bind_socket_path(int fd, std::string_view path, int type) {
    const UnixAddress address = HVMM_TRY(unix_address(path));
    HVMM_TRY_VOID(claim_socket_path(path, type));
    if (::bind(fd, address.get(), address.length) != 0) {
        if (errno == EADDRINUSE) {
            // Someone bound it between the probe and here.
            return fail("'{}' is in use by another process", path);
        }
        return fail_errno("cannot bind a socket at '{}'", path);
    }
    return BoundSocketPath::record(path);
}

}  // namespace hvmm::net
