// Puts a terminal in raw mode so every key (Ctrl-C included) reaches the guest's console, and
// puts it back on every way out: destruction, exit(), and fatal signals.
#pragma once

#include <optional>

#include "base/error.h"

namespace hvmm {

class TerminalRawMode {
  public:
    // Nothing (and no error) when fd is not a terminal.
    static Result<std::optional<TerminalRawMode>> enter(int fd);

    TerminalRawMode(TerminalRawMode&& other) noexcept;
    TerminalRawMode& operator=(TerminalRawMode&& other) noexcept;
    TerminalRawMode(const TerminalRawMode&) = delete;
    TerminalRawMode& operator=(const TerminalRawMode&) = delete;
    ~TerminalRawMode();

  private:
    explicit TerminalRawMode(int fd) : fd_(fd) {}
    int fd_ = -1;
};

// Restores the saved terminal settings, if any; async-signal-safe.
void restore_terminal_now();

}  // namespace hvmm
