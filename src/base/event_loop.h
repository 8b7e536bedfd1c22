// The I/O thread's epoll loop: file descriptors and periodic timers, each with a callback.
// Callbacks run on the thread that calls run(); add/remove/stop may be called from any thread,
// including from inside a callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "base/error.h"
#include "base/event_fd.h"
#include "base/unique_fd.h"

namespace hvmm {

class EventLoop {
  public:
    // Receives the epoll event bits (EPOLLIN, EPOLLOUT, EPOLLHUP, ...).
    using FdCallback = std::function<void(uint32_t events)>;
    using TimerCallback = std::function<void()>;

    static Result<std::unique_ptr<EventLoop>> create();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;
    ~EventLoop();

    // Watches fd (not owned) for events (EPOLLIN by default) until remove_fd(fd).
    Result<void> add_fd(int fd, FdCallback callback, uint32_t events = 0x001 /* EPOLLIN */);
    Result<void> modify_fd(int fd, uint32_t events);
    bool remove_fd(int fd);

    // Calls callback every period (first after one period) until remove_timer(id).
    Result<uint64_t> add_timer(std::chrono::nanoseconds period, TimerCallback callback);
    // A new period for a timer, counted from now (its next call comes one new period later).
    Result<void> set_timer_period(uint64_t timer_id, std::chrono::nanoseconds period);
    // Stops the timer's calls until set_timer_period arms it again (the timerfd stays).
    Result<void> stop_timer(uint64_t timer_id);
    bool remove_timer(uint64_t timer_id);

    // Dispatches events until stop() is called.
    void run();
    void stop();
    bool stopping() const;

  private:
    struct Watch {
        int fd;
        FdCallback callback;
    };
    explicit EventLoop(UniqueFd epoll, EventFd wakeup);
    static Result<void> arm_timer(int timer_fd, std::chrono::nanoseconds period);

    UniqueFd epoll_;
    EventFd wakeup_;
    mutable std::mutex mutex_;
    bool stop_requested_ = false;
    uint64_t next_id_ = 1;
    // epoll's data carries an id, not a pointer, so a watch removed by an earlier callback in
    // the same batch is simply not found instead of being used after free.
    std::unordered_map<uint64_t, std::shared_ptr<Watch>> watches_;
    std::unordered_map<int, uint64_t> id_by_fd_;
    std::unordered_map<uint64_t, UniqueFd> timers_;  // timer id -> its timerfd
};

}  // namespace hvmm
