#include "base/terminal_raw_mode.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <utility>

namespace hvmm {
namespace {

// One terminal at a time; globals because a signal handler and atexit must reach them.
termios g_saved{};
std::atomic<int> g_saved_fd{-1};

void restore_on_fatal_signal(int signal_number) {
    restore_terminal_now();
    // SA_RESETHAND put the default action back: re-raising produces the usual core/exit status.
    ::raise(signal_number);
}

void install_fatal_signal_restorers() {
    struct sigaction action {};
    action.sa_handler = restore_on_fatal_signal;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    for (const int signal_number : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGHUP, SIGQUIT}) {
        ::sigaction(signal_number, &action, nullptr);
    }
}

}  // namespace

void restore_terminal_now() {
    const int fd = g_saved_fd.exchange(-1);
    if (fd >= 0) {
        ::tcsetattr(fd, TCSAFLUSH, &g_saved);
    }
}

Result<std::optional<TerminalRawMode>> TerminalRawMode::enter(int fd) {
    if (!::isatty(fd)) {
        return std::optional<TerminalRawMode>();
    }
    termios original{};
    if (::tcgetattr(fd, &original) != 0) {
        return fail_errno("cannot read the terminal settings of fd {}", fd);
    }
    termios raw = original;
    ::cfmakeraw(&raw);
    // Keep output post-processing so hvmm's own messages still start at column 0.
    raw.c_oflag |= OPOST;
    g_saved = original;
    g_saved_fd.store(fd);
    static bool hooks_installed = false;
    if (!hooks_installed) {
        hooks_installed = true;
        std::atexit(restore_terminal_now);
        install_fatal_signal_restorers();
    }
    if (::tcsetattr(fd, TCSAFLUSH, &raw) != 0) {
        g_saved_fd.store(-1);
        return fail_errno("cannot put the terminal in raw mode");
    }
    return std::optional<TerminalRawMode>(TerminalRawMode(fd));
}

TerminalRawMode::TerminalRawMode(TerminalRawMode&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)) {}

TerminalRawMode& TerminalRawMode::operator=(TerminalRawMode&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            restore_terminal_now();
        }
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

TerminalRawMode::~TerminalRawMode() {
    if (fd_ >= 0) {
        restore_terminal_now();
    }
}

}  // namespace hvmm
