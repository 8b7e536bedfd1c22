// Termination signals (SIGINT, SIGTERM) delivered as an fd the event loop reads, so they end the
// run in order (vCPUs kicked and joined, terminal restored) instead of in a handler.
#pragma once

#include <initializer_list>

#include "base/error.h"
#include "base/unique_fd.h"

namespace hvmm {

class SignalFd {
  public:
    // Blocks the signals in the calling thread, which threads started later inherit: call it
    // before starting any thread.
    static Result<SignalFd> create(std::initializer_list<int> signals);
    // The next pending signal's number, or 0 if none.
    int read_signal() const;
    int fd() const { return fd_.get(); }

  private:
    explicit SignalFd(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

}  // namespace hvmm
