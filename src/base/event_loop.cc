#include "base/event_loop.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <vector>

#include "base/log.h"

namespace hvmm {

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll) {
        return fail_errno("cannot create an epoll instance");
    }
    EventFd wakeup = HVMM_TRY(EventFd::create());
    auto loop = std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll), std::move(wakeup)));
    const int wakeup_fd = loop->wakeup_.fd();
    HVMM_TRY_VOID(loop->add_fd(wakeup_fd,
                               [loop_ptr = loop.get()](uint32_t) { loop_ptr->wakeup_.consume(); }));
    return loop;
}

EventLoop::EventLoop(UniqueFd epoll, EventFd wakeup)
    : epoll_(std::move(epoll)), wakeup_(std::move(wakeup)) {}

EventLoop::~EventLoop() = default;

Result<void> EventLoop::add_fd(int fd, FdCallback callback, uint32_t events) {
    std::lock_guard lock(mutex_);
    if (id_by_fd_.contains(fd)) {
        return fail("fd {} is already watched by the event loop", fd);
    }
    const uint64_t id = next_id_++;
    epoll_event event{};
    event.events = events;
    event.data.u64 = id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
        return fail_errno("cannot watch fd {} with epoll", fd);
    }
    watches_.emplace(id, std::make_shared<Watch>(Watch{fd, std::move(callback)}));
    id_by_fd_.emplace(fd, id);
    return {};
}

Result<void> EventLoop::modify_fd(int fd, uint32_t events) {
    std::lock_guard lock(mutex_);
    const auto found = id_by_fd_.find(fd);
    if (found == id_by_fd_.end()) {
        return fail("fd {} is not watched by the event loop", fd);
    }
    epoll_event event{};
    event.events = events;
    event.data.u64 = found->second;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event) != 0) {
        return fail_errno("cannot change the events watched on fd {}", fd);
    }
    return {};
}

bool EventLoop::remove_fd(int fd) {
    std::lock_guard lock(mutex_);
    const auto found = id_by_fd_.find(fd);
    if (found == id_by_fd_.end()) {
        return false;
    }
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    watches_.erase(found->second);
    id_by_fd_.erase(found);
    return true;
}

Result<uint64_t> EventLoop::add_timer(std::chrono::nanoseconds period, TimerCallback callback) {
    if (period.count() <= 0) {
        return fail("a timer period must be positive");
    }
    UniqueFd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!timer) {
        return fail_errno("cannot create a timerfd");
    }
    HVMM_TRY_VOID(arm_timer(timer.get(), period));
    const int timer_fd = timer.get();
    HVMM_TRY_VOID(add_fd(timer_fd, [timer_fd, callback = std::move(callback)](uint32_t) {
        uint64_t expirations = 0;
        // Several missed periods run the callback once: timers here are "at least every period".
        if (::read(timer_fd, &expirations, sizeof(expirations)) == sizeof(expirations)) {
            callback();
        }
    }));
    std::lock_guard lock(mutex_);
    const uint64_t timer_id = id_by_fd_.at(timer_fd);
    timers_.emplace(timer_id, std::move(timer));
    return timer_id;
}

Result<void> EventLoop::arm_timer(int timer_fd, std::chrono::nanoseconds period) {
    itimerspec spec{};
    spec.it_interval.tv_sec = period.count() / 1'000'000'000;
    spec.it_interval.tv_nsec = period.count() % 1'000'000'000;
    spec.it_value = spec.it_interval;
    if (::timerfd_settime(timer_fd, 0, &spec, nullptr) != 0) {
        return fail_errno("cannot arm a timerfd");
    }
    return {};
}

Result<void> EventLoop::set_timer_period(uint64_t timer_id, std::chrono::nanoseconds period) {
    if (period.count() <= 0) {
        return fail("a timer period must be positive");
    }
    std::lock_guard lock(mutex_);
    const auto found = timers_.find(timer_id);
    if (found == timers_.end()) {
        return fail("no such timer");
    }
    return arm_timer(found->second.get(), period);
}

Result<void> EventLoop::stop_timer(uint64_t timer_id) {
    std::lock_guard lock(mutex_);
    const auto found = timers_.find(timer_id);
    if (found == timers_.end()) {
        return fail("no such timer");
    }
    const itimerspec disarmed{};  // a zero it_value disarms a timerfd
    if (::timerfd_settime(found->second.get(), 0, &disarmed, nullptr) != 0) {
        return fail_errno("cannot stop a timerfd");
    }
    return {};
}

bool EventLoop::remove_timer(uint64_t timer_id) {
    int fd = -1;
    {
        std::lock_guard lock(mutex_);
        const auto found = timers_.find(timer_id);
        if (found == timers_.end()) {
            return false;
        }
        fd = found->second.get();
    }
    remove_fd(fd);
    std::lock_guard lock(mutex_);
    timers_.erase(timer_id);  // closes the timerfd after epoll forgot it
    return true;
}

void EventLoop::run() {
    std::array<epoll_event, 32> events;
    while (!stopping()) {
        const int ready = ::epoll_wait(epoll_.get(), events.data(), events.size(), -1);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            log::error("epoll_wait failed: {}", std::strerror(errno));
            return;
        }
        for (int i = 0; i < ready; ++i) {
            std::shared_ptr<Watch> watch;
            {
                std::lock_guard lock(mutex_);
                const auto found = watches_.find(events[i].data.u64);
                if (found == watches_.end()) {
                    continue;  // removed by an earlier callback in this batch
                }
                watch = found->second;
            }
            watch->callback(events[i].events);
        }
    }
}

void EventLoop::stop() {
    {
        std::lock_guard lock(mutex_);
        stop_requested_ = true;
    }
    wakeup_.signal();
}

bool EventLoop::stopping() const {
    std::lock_guard lock(mutex_);
    return stop_requested_;
}

}  // namespace hvmm
