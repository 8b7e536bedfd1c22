// SlirpBackend's setup, libslirp's callbacks and the sending side; the I/O side is in
// slirp_backend_poll.cc.
#include "net/slirp/slirp_backend.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#include <cstring>

#include "net/slirp/ping_group_range.h"
#include "net/slirp/slirp_config.h"

namespace hvmm {

const SlirpCb SlirpBackend::kCallbacks = {
    .send_packet = &SlirpBackend::on_send_packet,
    .guest_error = &SlirpBackend::on_guest_error,
    .clock_get_ns = &SlirpBackend::on_clock_get_ns,
    .timer_new = nullptr,  // version 4 uses timer_new_opaque instead
    .timer_free = &SlirpBackend::on_timer_free,
    .timer_mod = &SlirpBackend::on_timer_mod,
    .register_poll_fd = &SlirpBackend::on_register_poll_fd,
    .unregister_poll_fd = &SlirpBackend::on_unregister_poll_fd,
    .notify = &SlirpBackend::on_notify,
    .init_completed = nullptr,
    .timer_new_opaque = &SlirpBackend::on_timer_new_opaque,
};

std::mutex& SlirpBackend::libslirp_mutex() {
    static std::mutex mutex;
    return mutex;
}

Result<std::unique_ptr<SlirpBackend>> SlirpBackend::open(const net::UserNetConfig& config,
                                                         const MacAddress& guest_mac,
                                                         SlirpBackendLimits limits) {
    return open(config, "the NIC " + net::to_string(guest_mac), limits);
}

Result<std::unique_ptr<SlirpBackend>> SlirpBackend::open(const net::UserNetConfig& config,
                                                         std::string_view user,
                                                         SlirpBackendLimits limits) {
    // Checked again here so no caller can hand libslirp a DNS address outside its network.
    HVMM_TRY_VOID(net::check_user_net_config(config));
    // libslirp writes to its sockets without MSG_NOSIGNAL: a host peer that closed its end (an
    // iperf3 test ending) would raise SIGPIPE and kill hvmm with status 141. Ignored process-
    // wide, as QEMU does; every write of ours already handles EPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    const std::string network = to_string(config.network);
    UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll) {
        return fail_errno("user network {}: cannot create an epoll fd", network);
    }
    UniqueFd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!timer) {
        return fail_errno("user network {}: cannot create a timerfd", network);
    }
    EventFd wake = HVMM_TRY(EventFd::create());
    auto backend = std::unique_ptr<SlirpBackend>(
        new SlirpBackend(config, limits, std::move(epoll), std::move(timer), std::move(wake)));
    HVMM_TRY_VOID(backend->watch(backend->wake_.fd(), Source::kWake, EPOLLIN));
    HVMM_TRY_VOID(backend->watch(backend->timer_.get(), Source::kTimer, EPOLLIN));

    const SlirpConfig slirp_config = net::make_slirp_config(config);
    {
        std::lock_guard lock(libslirp_mutex());
        backend->slirp_ = slirp_new(&slirp_config, &kCallbacks, backend.get());
    }
    if (backend->slirp_ == nullptr) {
        return fail("user network {}: libslirp refused the configuration", network);
    }
    HVMM_TRY_VOID(backend->add_forwards(config));
    {
        // The forwards' listening sockets are watched from here on.
        std::lock_guard lock(libslirp_mutex());
        backend->service_slirp_locked();
    }

    // Once per process: every user network would say the same.
    static std::once_flag ping_warning_once;
    std::call_once(ping_warning_once, [] {
        if (const auto warning = net::ping_sockets_warning()) {
            log::warn("{}", *warning);
        }
    });
    log::info("{} for {}", backend->description_, user);
    return backend;
}

SlirpBackend::SlirpBackend(const net::UserNetConfig& config, SlirpBackendLimits limits,
                           UniqueFd epoll, UniqueFd timer, EventFd wake)
    : description_(net::describe_user_net(config)),
      epoll_(std::move(epoll)),
      timer_(std::move(timer)),
      wake_(std::move(wake)),
      queue_(limits.queued_frames, limits.queued_bytes) {}

SlirpBackend::~SlirpBackend() {
    std::lock_guard lock(libslirp_mutex());
    if (slirp_ != nullptr) {
        slirp_cleanup(slirp_);  // closes its sockets (through unregister_poll_fd) and timers
    }
}

Result<void> SlirpBackend::watch(int fd, Source source, uint32_t events) {
    epoll_event event{.events = events, .data = {.u32 = static_cast<uint32_t>(source)}};
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
        return fail_errno("{}: cannot watch an fd", description_);
    }
    return {};
}

Result<void> SlirpBackend::add_forwards(const net::UserNetConfig& config) {
    std::lock_guard lock(libslirp_mutex());
    for (const net::HostForward& forward : config.forwards) {
        const net::ForwardAddresses addresses = HVMM_TRY(net::forward_addresses(config, forward));
        errno = 0;
        if (slirp_add_hostxfwd(slirp_, reinterpret_cast<const sockaddr*>(&addresses.host),
                               addresses.host_length,
                               reinterpret_cast<const sockaddr*>(&addresses.guest),
                               addresses.guest_length, addresses.flags) != 0) {
            const int error = errno;
            return fail("user network: cannot set up hostfwd={}: {}", net::to_string(forward),
                        error != 0 ? std::strerror(error) : "libslirp refused it");
        }
    }
    return {};
}

void SlirpBackend::set_sink(FrameSink* sink) {
    {
        std::lock_guard io(io_mutex_);
        sink_ = sink;
    }
    // Frames libslirp made meanwhile go to the new sink at the next poll_receive().
    request_poll();
}

void SlirpBackend::request_poll() {
    if (!poll_requested_.exchange(true, std::memory_order_acq_rel)) {
        wake_.signal();
    }
}

void SlirpBackend::send(std::span<const iovec> frame) {
    const size_t length = net::frame_length(frame);
    if (length < net::kEthernetHeaderSize) {
        counters_.count_tx_dropped();
        bump(detail_.tx_runts);
        return;
    }
    if (length > net::kMaxFrameSize) {
        counters_.count_tx_dropped();
        bump(detail_.tx_oversize);
        return;
    }
    {
        std::lock_guard lock(libslirp_mutex());
        const uint8_t* bytes = static_cast<const uint8_t*>(frame[0].iov_base);
        if (frame.size() > 1) {
            gather_.resize(length);
            size_t at = 0;
            for (const iovec& part : frame) {
                std::memcpy(gather_.data() + at, part.iov_base, part.iov_len);
                at += part.iov_len;
            }
            bytes = gather_.data();
        }
        // Replies libslirp makes now (ARP, DHCP, an ICMP error) land in queue_, not the sink.
        slirp_input(slirp_, bytes, static_cast<int>(length));
    }
    counters_.count_tx(length);
    // The frame may have opened a connection (a socket to watch), scheduled a delayed ACK or
    // answered an ARP that output was waiting for: the I/O thread runs a libslirp round.
    request_poll();
}

SlirpBackendStats SlirpBackend::slirp_stats() const {
    auto load = [](const std::atomic<uint64_t>& counter) {
        return counter.load(std::memory_order_relaxed);
    };
    return SlirpBackendStats{.totals = counters_.snapshot(),
                             .rx_queue_full = load(detail_.rx_queue_full),
                             .rx_no_sink = load(detail_.rx_no_sink),
                             .tx_oversize = load(detail_.tx_oversize),
                             .tx_runts = load(detail_.tx_runts),
                             .guest_errors = load(detail_.guest_errors)};
}

std::vector<NamedCount> SlirpBackend::named_counts() const {
    const SlirpBackendStats s = slirp_stats();
    std::vector<NamedCount> counts = named_totals(s.totals);
    counts.insert(counts.end(), {{"rx_queue_full", s.rx_queue_full},
                                 {"rx_no_sink", s.rx_no_sink},
                                 {"tx_oversize", s.tx_oversize},
                                 {"tx_runts", s.tx_runts},
                                 {"guest_errors", s.guest_errors}});
    return counts;
}

// libslirp's callbacks. Each runs inside a libslirp call, so under libslirp_mutex().

ssize_t SlirpBackend::on_send_packet(const void* buffer, size_t length, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    if (!self->queue_.push({static_cast<const uint8_t*>(buffer), length})) {
        self->counters_.count_rx_dropped();
        bump(self->detail_.rx_queue_full);
    }
    // Queued or dropped, the frame is taken: a negative return would be an I/O error.
    return static_cast<ssize_t>(length);
}

void SlirpBackend::on_guest_error(const char* message, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    bump(self->detail_.guest_errors);
    self->guest_error_warning_("{}: the guest misbehaved: {}", self->description_, message);
}

int64_t SlirpBackend::on_clock_get_ns(void* /*opaque*/) {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

void* SlirpBackend::on_timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
    return static_cast<SlirpBackend*>(opaque)->timers_.create(id, cb_opaque);
}

void SlirpBackend::on_timer_free(void* timer, void* opaque) {
    static_cast<SlirpBackend*>(opaque)->timers_.destroy(timer);
}

void SlirpBackend::on_timer_mod(void* timer, int64_t expire_ms, void* opaque) {
    auto* self = static_cast<SlirpBackend*>(opaque);
    self->timers_.modify(timer, expire_ms);
    // From send() the I/O thread must re-arm its timerfd; from poll_receive() it does anyway.
    self->request_poll();
}

void SlirpBackend::on_register_poll_fd(int fd, void* opaque) {
    // A new socket under a number a closed one had: no stale interest may stand for it.
    static_cast<SlirpBackend*>(opaque)->forget_fd_locked(fd);
}

void SlirpBackend::on_unregister_poll_fd(int fd, void* opaque) {
    // libslirp is about to close fd: drop it while the number still means this socket.
    static_cast<SlirpBackend*>(opaque)->forget_fd_locked(fd);
}

void SlirpBackend::on_notify(void* opaque) {
    static_cast<SlirpBackend*>(opaque)->request_poll();
}

}  // namespace hvmm
