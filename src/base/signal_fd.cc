#include "base/signal_fd.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace hvmm {

Result<SignalFd> SignalFd::create(std::initializer_list<int> signals) {
    sigset_t set;
    sigemptyset(&set);
    for (const int signal_number : signals) {
        sigaddset(&set, signal_number);
    }
    if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
        return fail("cannot block termination signals");
    }
    const int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        return fail_errno("cannot create a signalfd");
    }
    return SignalFd(UniqueFd(fd));
}

int SignalFd::read_signal() const {
    signalfd_siginfo info{};
    if (::read(fd_.get(), &info, sizeof(info)) != sizeof(info)) {
        return 0;
    }
    return static_cast<int>(info.ssi_signo);
}

}  // namespace hvmm
