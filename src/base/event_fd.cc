#include "base/event_fd.h"
#include "base/syscall_count.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace hvmm {

Result<EventFd> EventFd::create() {
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        return fail_errno("cannot create an eventfd");
    }
    return EventFd(UniqueFd(fd));
}

void EventFd::signal() const {
    const uint64_t one = 1;
    // EAGAIN means the counter is saturated, which is still "signalled": nothing to do.
    stats::count_syscall();
    [[maybe_unused]] auto written = ::write(fd_.get(), &one, sizeof(one));
}

uint64_t EventFd::consume() const {
    uint64_t value = 0;
    stats::count_syscall();
    if (::read(fd_.get(), &value, sizeof(value)) != sizeof(value)) {
        return 0;
    }
    return value;
}

}  // namespace hvmm
