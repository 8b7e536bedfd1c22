// An eventfd: one thread signals, another wakes (the event loop, or KVM through irqfd/ioeventfd).
#pragma once

#include <cstdint>

#include "base/error.h"
#include "base/unique_fd.h"

namespace hvmm {

class EventFd {
  public:
    // Non-blocking, close-on-exec.
    static Result<EventFd> create();

    // Adds one to the counter. Never blocks: a full counter already means "signalled".
    void signal() const;
    // Reads and resets the counter; 0 if nothing was signalled.
    uint64_t consume() const;
    int fd() const { return fd_.get(); }

  private:
    explicit EventFd(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

}  // namespace hvmm
