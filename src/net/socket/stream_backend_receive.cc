// StreamBackend's receiving side: the I/O thread services its epoll and reads frames.
#include "net/socket/stream_backend.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "base/syscall_count.h"

namespace hvmm {
namespace {

// Sources in the backend's epoll: the wake-up, the listener or timer, the connection.
constexpr size_t kEventsPerPoll = 8;

}  // namespace

size_t StreamBackend::poll_receive() {
    std::lock_guard io(io_mutex_);
    std::array<epoll_event, kEventsPerPoll> events;
    stats::count_syscall();
    const int ready = ::epoll_wait(epoll_.get(), events.data(), events.size(), 0);
    for (int i = 0; i < ready; ++i) {
        switch (static_cast<Source>(events[i].data.u32)) {
            case Source::kWake:
                wake_.consume();
                break;
            case Source::kTimer: {
                uint64_t expirations = 0;
                [[maybe_unused]] auto _ = ::read(timer_.get(), &expirations, sizeof expirations);
                if (!connection_) {
                    if (auto connected = try_connect(); !connected) {
                        peer_warning_("{}", connected.error().message);
                    }
                }
                break;
            }
            case Source::kListen:
                accept_peers();
                break;
            case Source::kConnection:
                if ((events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
                    std::lock_guard lock(mutex_);
                    flush_locked();
                }
                break;
        }
    }
    const size_t delivered = receive_frames();
    if (connection_ && peer_gone_.load(std::memory_order_relaxed)) {
        disconnect("peer gone");
    }
    report_link();
    return delivered;
}

size_t StreamBackend::receive_frames() {
    if (!connection_) {
        return 0;
    }
    size_t delivered = 0;
    size_t handled = 0;  // delivered or dropped: a flood of runts is bounded as well
    bool drained = false;
    for (;;) {
        // Whole frames already held go first; the socket is read only when none are left.
        for (;;) {
            if (handled >= net::kMaxFramesPerPoll) {
                // More may be held with nothing left to read: make sure the loop comes back.
                wake_.signal();
                return delivered;
            }
            if (sink_ != nullptr && !sink_->can_receive()) {
                pause_receive(true);
                return delivered;
            }
            const auto next = decoder_.next();
            if (!next) {
                counters_.count_rx_dropped();
                bump(next.error() == net::StreamError::kZeroLength ? detail_.rx_zero_length
                                                                   : detail_.rx_oversize);
                disconnect(fmt::format("bad length prefix from the peer ({})",
                                       net::to_string(next.error())));
                return delivered;
            }
            if (!*next) {
                break;
            }
            ++handled;
            if (deliver(**next)) {
                ++delivered;
            }
        }
        pause_receive(false);
        if (drained) {
            return delivered;
        }
        const std::span<uint8_t> space = decoder_.writable();
        if (space.empty()) {
            return delivered;  // cannot happen with every whole frame taken; never read 0 bytes
        }
        stats::count_syscall();
        const ssize_t length = ::recv(connection_.get(), space.data(), space.size(), MSG_DONTWAIT);
        if (length > 0) {
            decoder_.commit(static_cast<size_t>(length));
            // A short read emptied the socket; epoll is level-triggered, so anything arriving
            // later brings the loop back without a read that finds nothing now.
            drained = static_cast<size_t>(length) < space.size();
            continue;
        }
        if (length == 0) {
            disconnect("the peer closed the connection");
            return delivered;
        }
        const int error = errno;
        if (error == EINTR) {
            continue;
        }
        if (error != EAGAIN && error != EWOULDBLOCK) {
            disconnect(fmt::format("receive failed: {}", std::strerror(error)));
        }
        return delivered;
    }
}

bool StreamBackend::deliver(std::span<const uint8_t> frame) {
    if (frame.size() < net::kEthernetHeaderSize) {
        // Framing-valid but nothing a NIC could receive: the frame goes, the connection stays.
        counters_.count_rx_dropped();
        bump(detail_.rx_runts);
        return false;
    }
    if (sink_ == nullptr) {
        counters_.count_rx_dropped();
        bump(detail_.rx_no_sink);
        return false;
    }
    counters_.count_rx(frame.size());
    sink_->receive(frame);
    return true;
}

void StreamBackend::pause_receive(bool paused) {
    if (paused == rx_paused_) {
        return;  // rx_paused_ is written only on this side, so reading it unlocked is exact
    }
    std::lock_guard lock(mutex_);
    rx_paused_ = paused;
    update_interest_locked();
}

void StreamBackend::refresh_link() {
    std::lock_guard io(io_mutex_);
    if (listen_paused_ && watch(listen_.get(), Source::kListen, EPOLLIN)) {
        listen_paused_ = false;
    }
    report_link();
}

void StreamBackend::report_link() {
    const bool up = link_up();
    if (sink_ != nullptr && up != reported_link_up_) {
        reported_link_up_ = up;
        sink_->link_changed(up);
    }
}

}  // namespace hvmm
