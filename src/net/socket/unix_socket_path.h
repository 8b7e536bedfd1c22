// Unix socket paths for the socket backends: the address a path makes, what is already at a path
// before binding it, and removing the socket file a backend bound when it closes.
//
// Called on the thread that opens or destroys a backend (the main thread at start-up, the I/O
// thread on reconnect); no shared state.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <string>
#include <string_view>

#include "base/error.h"

namespace hvmm::net {

struct UnixAddress {
    sockaddr_un address{};
    socklen_t length = 0;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&address); }
};

// Refuses an empty path, one with a NUL, and one longer than sun_path can hold (107 bytes).
Result<UnixAddress> unix_address(std::string_view path);

// Refuses, with one line naming the problem, a path that exists and is not a socket; used before
// connecting so the user hears "not a socket" rather than ECONNREFUSED.
Result<void> check_not_other_file(std::string_view path);

// Makes path free for bind(): nothing there is fine; a socket file nobody answers on (left by a
// process that died) is removed; a live socket, or anything that is not a socket, is refused.
// `type` is SOCK_STREAM or SOCK_DGRAM, the kind the caller will bind, used to probe for life.
Result<void> claim_socket_path(std::string_view path, int type);

// The socket file a backend bound, removed when this is destroyed, but only if the file at the
// path is still the one bound: a later process that replaced it keeps its own.
class BoundSocketPath {
  public:
    BoundSocketPath() = default;
    // Records the identity (device, inode) of the file now at path.
    static Result<BoundSocketPath> record(std::string_view path);
    BoundSocketPath(BoundSocketPath&& other) noexcept;
    BoundSocketPath& operator=(BoundSocketPath&& other) noexcept;
    BoundSocketPath(const BoundSocketPath&) = delete;
    BoundSocketPath& operator=(const BoundSocketPath&) = delete;
    ~BoundSocketPath() { remove(); }

    void remove();
    const std::string& path() const { return path_; }

  private:
    std::string path_;
    dev_t device_ = 0;
    ino_t inode_ = 0;
};

// Binds fd to path after claim_socket_path(), and records the file for removal at close.
Result<BoundSocketPath> bind_socket_path(int fd, std::string_view path, int type);

}  // namespace hvmm::net
