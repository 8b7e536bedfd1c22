// Host keyboard to the guest's UART: the I/O thread reads stdin, handles the Ctrl-A escape
// (Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A, as in QEMU), and feeds the UART as fast as its
// receive FIFO drains, keeping what does not fit.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "base/error.h"
#include "base/event_fd.h"
#include "base/event_loop.h"
#include "devices/serial/uart16550.h"

namespace hvmm {

class ConsoleInput {
  public:
    static constexpr uint8_t kEscape = 0x01;  // Ctrl-A

    // on_quit runs on the I/O thread when the user types Ctrl-A x.
    static Result<std::unique_ptr<ConsoleInput>> create(Uart16550& uart, EventLoop& loop, int fd,
                                                        bool escape_enabled,
                                                        std::function<void()> on_quit);
    ~ConsoleInput();

    // Applies the escape rules to typed bytes and queues the rest for the guest (public for tests).
    void handle_typed(std::span<const uint8_t> bytes);

  private:
    ConsoleInput(Uart16550& uart, EventLoop& loop, int fd, bool escape_enabled,
                 std::function<void()> on_quit, EventFd rx_space);
    void on_readable();
    void feed_uart();

    Uart16550& uart_;
    EventLoop& loop_;
    int fd_;
    bool escape_enabled_;
    bool escape_seen_ = false;
    bool watching_fd_ = false;
    std::function<void()> on_quit_;
    EventFd rx_space_;
    std::deque<uint8_t> pending_;  // touched only on the I/O thread
};

}  // namespace hvmm
