#include "net/socket/stream_backend.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <array>
#include <cstring>

#include "stats/syscall_count.h"

namespace hvmm {

struct StreamBackend::Detail {
    std::atomic<uint64_t> rx_zero_length{0};
    std::atomic<uint64_t> rx_oversize{0};
    std::atomic<uint64_t> rx_truncated{0};
    std::atomic<uint64_t> rx_runts{0};
    std::atomic<uint64_t> rx_no_sink{0};
    std::atomic<uint64_t> tx_queue_full{0};
    std::atomic<uint64_t> tx_peer_gone{0};
    std::atomic<uint64_t> tx_invalid{0};
    std::atomic<uint64_t> tx_unsent_bytes{0};
    std::atomic<uint64_t> connects{0};
    std::atomic<uint64_t> disconnects{0};
    std::atomic<uint64_t> refused_peers{0};
    std::atomic<uint64_t> connect_failures{0};
};

namespace {

void bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
}

// The peer is gone for good: the connection cannot carry anything more.
bool is_peer_gone_error(int error) {
    return error == EPIPE || error == ECONNRESET || error == ENOTCONN;
}

// Frames gathered from more parts than this go through the send queue instead of straight to
// sendmsg(): the kernel takes at most IOV_MAX parts, and the prefix needs one.
constexpr size_t kMaxDirectParts = 64;
constexpr size_t kEventsPerPoll = 8;

}  // namespace

Result<std::unique_ptr<StreamBackend>> StreamBackend::create(Role role, std::string_view path,
                                                             std::chrono::milliseconds reconnect,
                                                             StreamBackendLimits limits) {
    HVMM_TRY(net::unix_address(path));
    UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll) {
        return fail_errno("cannot create an epoll fd for the stream backend on '{}'", path);
    }
    EventFd wake = HVMM_TRY(EventFd::create());
    auto backend = std::unique_ptr<StreamBackend>(new StreamBackend(
        role, std::string(path), reconnect, limits, std::move(epoll), std::move(wake)));
    HVMM_TRY_VOID(backend->watch(backend->wake_.fd(), Source::kWake, EPOLLIN));
    return backend;
}

StreamBackend::StreamBackend(Role role, std::string path, std::chrono::milliseconds reconnect,
                             StreamBackendLimits limits, UniqueFd epoll, EventFd wake)
    : role_(role),
      path_(std::move(path)),
      reconnect_(reconnect),
      limits_(limits),
      description_(fmt::format("{}:{}", role == Role::kClient ? "stream" : "stream-listen", path_)),
      epoll_(std::move(epoll)),
      wake_(std::move(wake)),
      queue_(limits.send_queue_bytes, limits.max_frame),
      decoder_(limits.max_frame),
      detail_(std::make_unique<Detail>()) {}

StreamBackend::~StreamBackend() = default;

Result<std::unique_ptr<StreamBackend>> StreamBackend::connect(std::string_view path,
                                                              std::chrono::milliseconds reconnect,
                                                              StreamBackendLimits limits) {
    if (reconnect.count() < 0) {
        return fail("stream '{}': reconnect period must not be negative", path);
    }
    auto backend = HVMM_TRY(create(Role::kClient, path, reconnect, limits));
    HVMM_TRY_VOID(net::check_not_other_file(path));
    backend->timer_ = UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!backend->timer_) {
        return fail_errno("cannot create the reconnect timer for '{}'", path);
    }
    HVMM_TRY_VOID(backend->watch(backend->timer_.get(), Source::kTimer, EPOLLIN));
    if (!HVMM_TRY(backend->try_connect())) {
        if (reconnect.count() == 0) {
            return fail("cannot connect to '{}': {} (add reconnect=SECONDS to wait for a peer)",
                        path, std::strerror(backend->last_connect_error_));
        }
        log::info("stream {}: no peer yet ({}); trying every {} ms", path,
                  std::strerror(backend->last_connect_error_), reconnect.count());
        backend->arm_reconnect(true);
    }
    return backend;
}

Result<std::unique_ptr<StreamBackend>> StreamBackend::listen(std::string_view path,
                                                             StreamBackendLimits limits) {
    auto backend = HVMM_TRY(create(Role::kListener, path, {}, limits));
    backend->listen_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!backend->listen_) {
        return fail_errno("cannot create a socket to listen on '{}'", path);
    }
    backend->bound_ = HVMM_TRY(net::bind_socket_path(backend->listen_.get(), path, SOCK_STREAM));
    // A small backlog: only one peer is served, and the others are refused as soon as accepted.
    if (::listen(backend->listen_.get(), 4) != 0) {
        return fail_errno("cannot listen on '{}'", path);
    }
    HVMM_TRY_VOID(backend->watch(backend->listen_.get(), Source::kListen, EPOLLIN));
    return backend;
}

Result<void> StreamBackend::watch(int fd, Source source, uint32_t events) {
    epoll_event event{.events = events, .data = {.u32 = static_cast<uint32_t>(source)}};
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
        return fail_errno("stream {}: cannot watch an fd", path_);
    }
    return {};
}

void StreamBackend::set_sink(FrameSink* sink) {
    {
        std::lock_guard io(io_mutex_);
        sink_ = sink;
        reported_link_up_ = true;
    }
    // A sink assumes the link is up; the I/O thread tells it otherwise at once.
    wake_.signal();
}

StreamBackendStats StreamBackend::stream_stats() const {
    auto load = [](const std::atomic<uint64_t>& counter) {
        return counter.load(std::memory_order_relaxed);
    };
    const Detail& d = *detail_;
    return StreamBackendStats{.totals = counters_.snapshot(),
                              .rx_zero_length = load(d.rx_zero_length),
                              .rx_oversize = load(d.rx_oversize),
                              .rx_truncated = load(d.rx_truncated),
                              .rx_runts = load(d.rx_runts),
                              .rx_no_sink = load(d.rx_no_sink),
                              .tx_queue_full = load(d.tx_queue_full),
                              .tx_peer_gone = load(d.tx_peer_gone),
                              .tx_invalid = load(d.tx_invalid),
                              .tx_unsent_bytes = load(d.tx_unsent_bytes),
                              .connects = load(d.connects),
                              .disconnects = load(d.disconnects),
                              .refused_peers = load(d.refused_peers),
                              .connect_failures = load(d.connect_failures)};
}

// ---- sending (any thread) ----

void StreamBackend::send(std::span<const iovec> frame) {
    const size_t length = net::frame_length(frame);
    std::lock_guard lock(mutex_);
    if (!connection_ || peer_gone_.load(std::memory_order_relaxed)) {
        counters_.count_tx_dropped();
        bump(detail_->tx_peer_gone);
        return;
    }
    const auto header = net::encode_stream_header(length, limits_.max_frame);
    if (!header) {
        counters_.count_tx_dropped();
        bump(detail_->tx_invalid);
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
            bump(detail_->tx_peer_gone);
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
        bump(detail_->tx_peer_gone);
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
            bump(detail_->tx_queue_full);
            break;
        case net::StreamSendQueue::Push::kInvalid:
            counters_.count_tx_dropped();
            bump(detail_->tx_invalid);
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
    bump(detail_->tx_unsent_bytes, queue_.size());
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

// ---- connecting (I/O thread, or the factory before there is one) ----

Result<bool> StreamBackend::try_connect() {
    const net::UnixAddress address = HVMM_TRY(net::unix_address(path_));
    UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket) {
        return fail_errno("stream {}: cannot create a socket", path_);
    }
    stats::count_syscall();
    if (::connect(socket.get(), address.get(), address.length) == 0) {
        established(std::move(socket));
        log::info("stream {}: connected; link up", path_);
        return true;
    }
    last_connect_error_ = errno;
    // Nobody listening (yet), or a listener whose backlog is full: try again later. A Unix
    // stream connect never completes later (no EINPROGRESS), so there is nothing to wait on.
    if (errno == ECONNREFUSED || errno == ENOENT || errno == EAGAIN || errno == EINPROGRESS) {
        bump(detail_->connect_failures);
        return false;
    }
    return fail_errno("cannot connect to '{}'", path_);
}

void StreamBackend::arm_reconnect(bool on) {
    if (!timer_) {
        return;
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(reconnect_);
    const auto rest = std::chrono::duration_cast<std::chrono::nanoseconds>(reconnect_ - seconds);
    const timespec period{.tv_sec = static_cast<time_t>(seconds.count()),
                          .tv_nsec = static_cast<long>(rest.count())};
    itimerspec spec{};
    if (on) {
        spec.it_value = period;
        spec.it_interval = period;
    }
    ::timerfd_settime(timer_.get(), 0, &spec, nullptr);
}

void StreamBackend::accept_peers() {
    for (;;) {
        stats::count_syscall();
        UniqueFd peer(::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!peer) {
            const int error = errno;
            if (error == EINTR || error == ECONNABORTED) {
                continue;
            }
            if (error != EAGAIN && error != EWOULDBLOCK) {
                // Out of fds or memory: the pending peer stays pending and the listener stays
                // readable, so stop watching it until the next refresh_link() rather than spin.
                peer_warning_("stream {}: cannot accept a peer: {}", path_, std::strerror(error));
                ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listen_.get(), nullptr);
                listen_paused_ = true;
            }
            return;
        }
        if (connection_) {
            // The current peer may have left while the sink was full (its connection is not
            // watched then): a newcomer should not be refused for a dead one.
            pollfd entry{.fd = connection_.get(), .events = POLLRDHUP, .revents = 0};
            if (peer_gone_.load(std::memory_order_relaxed) ||
                (::poll(&entry, 1, 0) > 0 && (entry.revents & (POLLHUP | POLLRDHUP)) != 0)) {
                disconnect("peer gone");
            }
        }
        if (connection_) {
            bump(detail_->refused_peers);
            peer_warning_("stream-listen {}: refused a second peer (one is connected)", path_);
            continue;  // peer closes here
        }
        established(std::move(peer));
        log::info("stream-listen {}: peer connected; link up", path_);
    }
}

void StreamBackend::established(UniqueFd connection) {
    {
        std::lock_guard lock(mutex_);
        connection_ = std::move(connection);
        queue_.clear();
        rx_paused_ = false;
        watched_events_ = 0;
        peer_gone_.store(false, std::memory_order_relaxed);
        update_interest_locked();
        link_up_.store(true, std::memory_order_relaxed);
    }
    decoder_.reset();
    bump(detail_->connects);
    arm_reconnect(false);
}

void StreamBackend::disconnect(std::string_view why) {
    {
        std::lock_guard lock(mutex_);
        if (!connection_) {
            return;
        }
        if (watched_events_ != 0) {
            ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, connection_.get(), nullptr);
            watched_events_ = 0;
        }
        connection_.reset();
        bump(detail_->tx_unsent_bytes, queue_.size());
        queue_.clear();
        rx_paused_ = false;
        link_up_.store(false, std::memory_order_relaxed);
        peer_gone_.store(false, std::memory_order_relaxed);
    }
    // Errors already counted stay counted once; only a close mid-frame is new here.
    if (const auto finished = decoder_.finish();
        !finished && finished.error() == net::StreamError::kTruncated) {
        counters_.count_rx_dropped();
        bump(detail_->rx_truncated);
    }
    bump(detail_->disconnects);
    if (role_ == Role::kClient && reconnect_.count() > 0) {
        peer_warning_("stream {}: {}; link down, reconnecting every {} ms", path_, why,
                      reconnect_.count());
        arm_reconnect(true);
    } else if (role_ == Role::kClient) {
        peer_warning_("stream {}: {}; link down (no reconnect= given, it stays down)", path_, why);
    } else {
        peer_warning_("stream-listen {}: {}; link down until a peer connects", path_, why);
    }
}

// ---- receiving (I/O thread) ----

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
                bump(next.error() == net::StreamError::kZeroLength ? detail_->rx_zero_length
                                                                   : detail_->rx_oversize);
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
        bump(detail_->rx_runts);
        return false;
    }
    if (sink_ == nullptr) {
        counters_.count_rx_dropped();
        bump(detail_->rx_no_sink);
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
