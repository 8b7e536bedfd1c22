// SlirpBackend's I/O side: one libslirp round per poll_receive(), the epoll interest and the
// timerfd kept in step with what libslirp waits for, and delivery to the sink.
#include "net/slirp/slirp_backend.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "base/syscall_count.h"

namespace hvmm {
namespace {

// libslirp caps its wait at one second even with nothing to time (slirp_update_timeout); its
// own TCP/IP timers ask for 2 ms (delayed ACK) or 499 ms (retransmits, UDP and ICMP expiry,
// reassembly). A timeout of a full second therefore means "nothing timed": the backend then
// sleeps until a socket, a guest frame or one of libslirp's timers wakes it, rather than tick.
constexpr uint32_t kSlirpIdleTimeoutMs = 1000;
// Our wake-up, our timer, and a batch of libslirp's sockets (whose readiness libslirp's own
// poll() re-reads; the events here only say that a round is due).
constexpr size_t kEventsPerPoll = 16;

short to_poll_events(int slirp_events) {
    short events = 0;
    if (slirp_events & SLIRP_POLL_IN)
        events |= POLLIN;
    if (slirp_events & SLIRP_POLL_OUT)
        events |= POLLOUT;
    if (slirp_events & SLIRP_POLL_PRI)
        events |= POLLPRI;
    if (slirp_events & SLIRP_POLL_ERR)
        events |= POLLERR;
    if (slirp_events & SLIRP_POLL_HUP)
        events |= POLLHUP;
    return events;
}

int to_slirp_events(short poll_events) {
    int events = 0;
    if (poll_events & POLLIN)
        events |= SLIRP_POLL_IN;
    if (poll_events & POLLOUT)
        events |= SLIRP_POLL_OUT;
    if (poll_events & POLLPRI)
        events |= SLIRP_POLL_PRI;
    if (poll_events & (POLLERR | POLLNVAL))
        events |= SLIRP_POLL_ERR;
    if (poll_events & POLLHUP)
        events |= SLIRP_POLL_HUP;
    return events;
}

// epoll reports errors and hang-ups whether asked or not.
uint32_t to_epoll_events(short poll_events) {
    uint32_t events = 0;
    if (poll_events & POLLIN)
        events |= EPOLLIN;
    if (poll_events & POLLOUT)
        events |= EPOLLOUT;
    if (poll_events & POLLPRI)
        events |= EPOLLPRI;
    return events;
}

int64_t monotonic_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

}  // namespace

size_t SlirpBackend::poll_receive() {
    std::lock_guard io(io_mutex_);
    std::array<epoll_event, kEventsPerPoll> events;
    stats::count_syscall();
    const int ready = ::epoll_wait(epoll_.get(), events.data(), events.size(), 0);
    bool timer_fired = false;
    for (int i = 0; i < ready; ++i) {
        switch (static_cast<Source>(events[i].data.u32)) {
            case Source::kWake:
                // Consumed before the flag is cleared: a send() in between finds the flag still
                // set and does not signal, and its frame is already in libslirp for this round.
                wake_.consume();
                poll_requested_.store(false, std::memory_order_release);
                break;
            case Source::kTimer: {
                uint64_t expirations = 0;
                [[maybe_unused]] auto _ = ::read(timer_.get(), &expirations, sizeof expirations);
                timer_fired = true;
                break;
            }
            case Source::kSocket:
                break;
        }
    }
    {
        std::lock_guard lock(libslirp_mutex());
        if (timer_fired) {
            armed_deadline_ns_ = 0;
        }
        service_slirp_locked();
    }
    return deliver_queued();
}

void SlirpBackend::service_slirp_locked() {
    uint32_t timeout_ms = UINT32_MAX;
    fill_locked(timeout_ms);
    int ready = 0;
    if (!pollfds_.empty()) {
        stats::count_syscall();
        ready = ::poll(pollfds_.data(), pollfds_.size(), 0);
    }
    slirp_pollfds_poll(slirp_, ready < 0 ? 1 : 0, &SlirpBackend::on_get_revents, this);
    for (const auto& expired : timers_.take_expired(monotonic_ns() / 1'000'000)) {
        slirp_handle_timer(slirp_, expired.id, expired.cb_opaque);
    }
    // What libslirp waits for now, after this round's reads, writes, closes and timers.
    timeout_ms = UINT32_MAX;
    fill_locked(timeout_ms);
    sync_interest_locked();
    arm_timer_locked(timeout_ms);
}

void SlirpBackend::fill_locked(uint32_t& timeout_ms) {
    pollfds_.clear();
    slirp_pollfds_fill(slirp_, &timeout_ms, &SlirpBackend::on_add_poll, this);
}

int SlirpBackend::on_add_poll(int fd, int events, void* opaque) {
    auto& pollfds = static_cast<SlirpBackend*>(opaque)->pollfds_;
    pollfds.push_back(pollfd{.fd = fd, .events = to_poll_events(events), .revents = 0});
    return static_cast<int>(pollfds.size() - 1);
}

int SlirpBackend::on_get_revents(int index, void* opaque) {
    const auto& pollfds = static_cast<SlirpBackend*>(opaque)->pollfds_;
    if (index < 0 || static_cast<size_t>(index) >= pollfds.size()) {
        return 0;
    }
    return to_slirp_events(pollfds[static_cast<size_t>(index)].revents);
}

void SlirpBackend::sync_interest_locked() {
    std::map<int, uint32_t> wanted;
    for (const pollfd& entry : pollfds_) {
        wanted[entry.fd] |= to_epoll_events(entry.events);
    }
    for (auto it = watched_.begin(); it != watched_.end();) {
        if (!wanted.contains(it->first)) {
            // May fail harmlessly: a socket libslirp closed left epoll by itself.
            ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->first, nullptr);
            it = watched_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [fd, events] : wanted) {
        const auto it = watched_.find(fd);
        if (it != watched_.end() && it->second == events) {
            continue;
        }
        epoll_event event{.events = events,
                          .data = {.u32 = static_cast<uint32_t>(Source::kSocket)}};
        // ADD for a new socket, MOD for new events; each falls back on the other in case the
        // record and epoll disagree (a socket closed and its number reused).
        int result = ::epoll_ctl(epoll_.get(), it == watched_.end() ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
                                 fd, &event);
        if (result != 0 && (errno == EEXIST || errno == ENOENT)) {
            result = ::epoll_ctl(epoll_.get(), errno == EEXIST ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
                                 &event);
        }
        if (result != 0) {
            // Not recorded, so the next round tries again.
            log::debug("{}: cannot watch socket {}: {}", description_, fd, std::strerror(errno));
            watched_.erase(fd);
            continue;
        }
        watched_[fd] = events;
    }
}

void SlirpBackend::forget_fd_locked(int fd) {
    if (watched_.erase(fd) != 0) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    }
}

void SlirpBackend::arm_timer_locked(uint32_t slirp_timeout_ms) {
    int64_t wanted_ns = 0;
    if (const auto earliest = timers_.earliest()) {
        wanted_ns = std::max<int64_t>(*earliest * 1'000'000, 1);
    }
    if (slirp_timeout_ms < kSlirpIdleTimeoutMs) {
        const int64_t due = monotonic_ns() + int64_t{slirp_timeout_ms} * 1'000'000;
        wanted_ns = wanted_ns == 0 ? due : std::min(wanted_ns, due);
    }
    // Only ever moved earlier: a deadline later than needed would be missed, one earlier than
    // needed costs one quiet round, and leaving it spares a syscall in every busy round.
    if (wanted_ns == 0 || (armed_deadline_ns_ != 0 && armed_deadline_ns_ <= wanted_ns)) {
        return;
    }
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(wanted_ns / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(wanted_ns % 1'000'000'000);
    stats::count_syscall();
    if (::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) == 0) {
        armed_deadline_ns_ = wanted_ns;
    }
}

size_t SlirpBackend::deliver_queued() {
    size_t delivered = 0;
    for (size_t handled = 0;; ++handled) {
        if (handled >= net::kMaxFramesPerPoll) {
            // More may be queued: make sure the loop comes back after its other sources.
            request_poll();
            return delivered;
        }
        if (sink_ != nullptr && !sink_->can_receive()) {
            // The frames wait; the NIC's resume brings the I/O thread back here.
            return delivered;
        }
        std::optional<std::vector<uint8_t>> frame;
        {
            std::lock_guard lock(libslirp_mutex());
            frame = queue_.pop();
        }
        if (!frame) {
            return delivered;
        }
        if (deliver(*frame)) {
            ++delivered;
        }
    }
}

bool SlirpBackend::deliver(std::span<const uint8_t> frame) {
    if (sink_ == nullptr) {
        counters_.count_rx_dropped();
        bump(detail_.rx_no_sink);
        return false;
    }
    counters_.count_rx(frame.size());
    sink_->receive(frame);
    return true;
}

}  // namespace hvmm
