#include "net/socket/stream_backend.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <cstring>

#include "base/syscall_count.h"

namespace hvmm {

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
      decoder_(limits.max_frame) {}

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
    const Detail& d = detail_;
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

std::vector<NamedCount> StreamBackend::named_counts() const {
    const StreamBackendStats s = stream_stats();
    std::vector<NamedCount> counts = named_totals(s.totals);
    counts.insert(counts.end(), {{"rx_zero_length", s.rx_zero_length},
                                 {"rx_oversize", s.rx_oversize},
                                 {"rx_truncated", s.rx_truncated},
                                 {"rx_runts", s.rx_runts},
                                 {"rx_no_sink", s.rx_no_sink},
                                 {"tx_queue_full", s.tx_queue_full},
                                 {"tx_peer_gone", s.tx_peer_gone},
                                 {"tx_invalid", s.tx_invalid},
                                 {"tx_unsent_bytes", s.tx_unsent_bytes},
                                 {"connects", s.connects},
                                 {"disconnects", s.disconnects},
                                 {"refused_peers", s.refused_peers},
                                 {"connect_failures", s.connect_failures}});
    return counts;
}

size_t StreamBackend::queued_bytes() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

// Connecting, accepting and closing: on the I/O thread, or in the factory before there is one.

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
        bump(detail_.connect_failures);
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
            bump(detail_.refused_peers);
            refused_warning_("stream-listen {}: refused a second peer (one is connected)", path_);
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
    bump(detail_.connects);
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
        bump(detail_.tx_unsent_bytes, queue_.size());
        queue_.clear();
        rx_paused_ = false;
        link_up_.store(false, std::memory_order_relaxed);
        peer_gone_.store(false, std::memory_order_relaxed);
    }
    // Errors already counted stay counted once; only a close mid-frame is new here.
    if (const auto finished = decoder_.finish();
        !finished && finished.error() == net::StreamError::kTruncated) {
        counters_.count_rx_dropped();
        bump(detail_.rx_truncated);
    }
    bump(detail_.disconnects);
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

}  // namespace hvmm
