#include "net/socketpair/socketpair_backend.h"

#include <poll.h>
#include <sys/socket.h>

#include "base/log.h"
#include "net/frame_limits.h"
#include "net/retire_fd.h"
#include "base/syscall_count.h"

namespace hvmm {

Result<std::unique_ptr<SocketpairBackend>> SocketpairBackend::create() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
        return fail_errno("cannot create the socketpair network backend");
    }
    return std::unique_ptr<SocketpairBackend>(
        new SocketpairBackend(UniqueFd(fds[0]), UniqueFd(fds[1])));
}

SocketpairBackend::SocketpairBackend(UniqueFd socket, UniqueFd peer)
    : socket_(std::move(socket)), peer_(std::move(peer)), buffer_(net::kMaxFrameSize) {}

void SocketpairBackend::send(std::span<const iovec> frame) {
    if (!link_up()) {
        counters_.count_tx_dropped();
        return;
    }
    msghdr message{};
    message.msg_iov = const_cast<iovec*>(frame.data());
    message.msg_iovlen = frame.size();
    stats::count_syscall();
    const ssize_t sent = ::sendmsg(socket_.get(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) {
        // A full peer (EAGAIN, ENOBUFS) drops the frame as a full wire would; a closed peer
        // (EPIPE, ECONNRESET) also takes the link down.
        if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
            link_up_.store(false, std::memory_order_relaxed);
        }
        counters_.count_tx_dropped();
        return;
    }
    counters_.count_tx(static_cast<uint64_t>(sent));
}

size_t SocketpairBackend::poll_receive() {
    size_t delivered = 0;
    while (delivered < net::kMaxFramesPerPoll && link_up()) {
        // Without a sink nobody can take frames: drain and count them. With a sink that is
        // full, leave them in the socket until it has room (back-pressure).
        if (sink_ != nullptr && !sink_->can_receive()) {
            break;
        }
        stats::count_syscall();
        const ssize_t length =
            ::recv(socket_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
        if (length < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                static log::RateLimitedWarning warning;
                warning("socketpair backend: receive failed: {}", std::strerror(errno));
            }
            break;
        }
        // SEQPACKET reports the peer's close as a zero-length read; a zero-length message
        // is told apart by the socket's hang-up state.
        if (length == 0 && peer_hung_up()) {
            mark_peer_gone();
            break;
        }
        const auto size = static_cast<size_t>(length);
        if (size < net::kEthernetHeaderSize || size > buffer_.size() || sink_ == nullptr) {
            counters_.count_rx_dropped();
            continue;
        }
        counters_.count_rx(size);
        sink_->receive(std::span<const uint8_t>(buffer_.data(), size));
        ++delivered;
    }
    refresh_link();
    return delivered;
}

void SocketpairBackend::refresh_link() {
    if (link_up() && peer_hung_up()) {
        mark_peer_gone();
    }
    if (!link_up() && !retired_) {
        // Only here, on the I/O thread: the loop watching the fd must stop waking for it.
        retired_ = net::retire_fd(socket_.get());
    }
    const bool up = link_up();
    if (sink_ != nullptr && up != reported_link_up_) {
        reported_link_up_ = up;
        sink_->link_changed(up);
    }
}

void SocketpairBackend::mark_peer_gone() {
    link_up_.store(false, std::memory_order_relaxed);
}

bool SocketpairBackend::peer_hung_up() const {
    pollfd entry{.fd = socket_.get(), .events = POLLIN | POLLRDHUP, .revents = 0};
    return ::poll(&entry, 1, 0) > 0 && (entry.revents & (POLLHUP | POLLRDHUP)) != 0;
}

}  // namespace hvmm
