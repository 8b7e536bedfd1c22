// StreamBackend's sending side: any thread, under mutex_.
#include "net/socket/stream_backend.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

#include "base/syscall_count.h"

namespace hvmm {
namespace {

// The peer is gone for good: the connection cannot carry anything more.
bool is_peer_gone_error(int error) {
    return error == EPIPE || error == ECONNRESET || error == ENOTCONN;
}

// Frames gathered from more parts than this go through the send queue instead of straight to
// sendmsg(): the kernel takes at most IOV_MAX parts, and the prefix needs one.
constexpr size_t kMaxDirectParts = 64;

}  // namespace

void StreamBackend::send(std::span<const iovec> frame) {
    const size_t length = net::frame_length(frame);
    std::lock_guard lock(mutex_);
    if (!connection_ || peer_gone_.load(std::memory_order_relaxed)) {
        counters_.count_tx_dropped();
        bump(detail_.tx_peer_gone);
        return;
    }
    const auto header = net::encode_stream_header(length, limits_.max_frame);
    if (!header) {
        counters_.count_tx_dropped();
        bump(detail_.tx_invalid);
        return;
    }
    // What is queued goes first, or the peer would read this frame inside the rest of another.
    if (!queue_.empty()) {
        flush_locked();
    }
    if (queue_.empty() && !peer_gone_.load(std::memory_order_relaxed) &&
        frame.size() < kMaxDirectParts) {
        std::array<iovec, kMaxDirectParts> parts;
        parts[0] = iovec{const_cast<uint8_t*>(header->data()), header->size()};
        std::copy(frame.begin(), frame.end(), parts.begin() + 1);
        msghdr message{};
        message.msg_iov = parts.data();
        message.msg_iovlen = frame.size() + 1;
        stats::count_syscall();
        const ssize_t sent = ::sendmsg(connection_.get(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent >= 0) {
            const auto written = static_cast<size_t>(sent);
            if (written < net::kStreamLengthPrefixSize + length) {
                // A short write: the rest must follow before anything else. It always fits,
                // since the queue is empty and holds at least one largest frame.
                queue_.push_unsent(frame, written);
                update_interest_locked();
            }
            counters_.count_tx(length);
            return;
        }
        const int error = errno;
        if (error != EAGAIN && error != EWOULDBLOCK && error != EINTR) {
            counters_.count_tx_dropped();
            bump(detail_.tx_peer_gone);
            if (!is_peer_gone_error(error)) {
                send_warning_("stream {}: send failed: {}; closing the connection", path_,
                              std::strerror(error));
            }
            note_peer_gone_locked();
            return;
        }
        // EAGAIN: the socket is full; queue the frame behind nothing.
    }
    if (peer_gone_.load(std::memory_order_relaxed)) {
        counters_.count_tx_dropped();
        bump(detail_.tx_peer_gone);
        return;
    }
    switch (queue_.push(frame)) {
        case net::StreamSendQueue::Push::kQueued:
            counters_.count_tx(length);
            update_interest_locked();
            break;
        case net::StreamSendQueue::Push::kFull:
            // Tail drop: a peer that does not read costs its own frames, not our memory.
            counters_.count_tx_dropped();
            bump(detail_.tx_queue_full);
            break;
        case net::StreamSendQueue::Push::kInvalid:
            counters_.count_tx_dropped();
            bump(detail_.tx_invalid);
            break;
    }
}

void StreamBackend::flush_locked() {
    while (!queue_.empty() && connection_ && !peer_gone_.load(std::memory_order_relaxed)) {
        std::array<iovec, 2> parts;
        msghdr message{};
        message.msg_iov = parts.data();
        message.msg_iovlen = queue_.gather(parts);
        stats::count_syscall();
        const ssize_t sent = ::sendmsg(connection_.get(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent > 0) {
            queue_.consume(static_cast<size_t>(sent));
            continue;
        }
        const int error = errno;
        if (sent < 0 && (error == EAGAIN || error == EWOULDBLOCK)) {
            break;
        }
        if (sent < 0 && error == EINTR) {
            continue;
        }
        if (sent < 0 && !is_peer_gone_error(error)) {
            send_warning_("stream {}: send failed: {}; closing the connection", path_,
                          std::strerror(error));
        }
        note_peer_gone_locked();
    }
    update_interest_locked();
}

void StreamBackend::note_peer_gone_locked() {
    if (peer_gone_.exchange(true, std::memory_order_relaxed)) {
        return;
    }
    link_up_.store(false, std::memory_order_relaxed);
    bump(detail_.tx_unsent_bytes, queue_.size());
    queue_.clear();
    // The I/O thread closes the connection and tells the sink; never the sending thread, which
    // may hold the NIC's lock.
    wake_.signal();
}

void StreamBackend::update_interest_locked() {
    uint32_t wanted = 0;
    if (connection_) {
        if (!rx_paused_) {
            wanted |= EPOLLIN;
        }
        if (!queue_.empty() && !peer_gone_.load(std::memory_order_relaxed)) {
            wanted |= EPOLLOUT;
        }
    }
    if (wanted == watched_events_) {
        return;
    }
    // Not registered at all when nothing is wanted: EPOLLHUP is reported whatever the mask, and
    // a peer that hangs up while the sink is full would otherwise wake the loop forever.
    epoll_event event{.events = wanted,
                      .data = {.u32 = static_cast<uint32_t>(Source::kConnection)}};
    const int op = wanted == 0            ? EPOLL_CTL_DEL
                   : watched_events_ == 0 ? EPOLL_CTL_ADD
                                          : EPOLL_CTL_MOD;
    stats::count_syscall();
    if (::epoll_ctl(epoll_.get(), op, connection_.get(), &event) == 0) {
        watched_events_ = wanted;
    } else {
        send_warning_("stream {}: cannot watch the connection: {}", path_, std::strerror(errno));
    }
}

}  // namespace hvmm
