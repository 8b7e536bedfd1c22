#include "vmm/console_input.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <vector>

#include "base/log.h"

namespace hvmm {
namespace {
// What stays queued for a guest that does not read its console; beyond it typed bytes are
// dropped rather than letting memory grow without bound.
constexpr size_t kMaxPending = 64 * 1024;
}  // namespace

Result<std::unique_ptr<ConsoleInput>> ConsoleInput::create(Uart16550& uart, EventLoop& loop, int fd,
                                                           bool escape_enabled,
                                                           std::function<void()> on_quit) {
    EventFd rx_space = HVMM_TRY(EventFd::create());
    auto input = std::unique_ptr<ConsoleInput>(
        new ConsoleInput(uart, loop, fd, escape_enabled, std::move(on_quit), std::move(rx_space)));
    ConsoleInput* self = input.get();
    HVMM_TRY_VOID(loop.add_fd(self->rx_space_.fd(), [self](uint32_t) {
        self->rx_space_.consume();
        self->feed_uart();
    }));
    uart.set_rx_space_callback([self] { self->rx_space_.signal(); });
    // A regular file or /dev/null cannot be watched by epoll: then the guest gets no input,
    // which is what such a stdin means anyway.
    if (auto watched = loop.add_fd(fd, [self](uint32_t) { self->on_readable(); }); watched) {
        self->watching_fd_ = true;
    } else {
        log::debug("console input not watched: {}", watched.error().message);
    }
    return input;
}

ConsoleInput::ConsoleInput(Uart16550& uart, EventLoop& loop, int fd, bool escape_enabled,
                           std::function<void()> on_quit, EventFd rx_space)
    : uart_(uart),
      loop_(loop),
      fd_(fd),
      escape_enabled_(escape_enabled),
      on_quit_(std::move(on_quit)),
      rx_space_(std::move(rx_space)) {}

ConsoleInput::~ConsoleInput() {
    uart_.set_rx_space_callback({});
    loop_.remove_fd(rx_space_.fd());
    if (watching_fd_) {
        loop_.remove_fd(fd_);
    }
}

void ConsoleInput::on_readable() {
    std::array<uint8_t, 256> buffer;
    const ssize_t got = ::read(fd_, buffer.data(), buffer.size());
    if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
        // End of input (a closed pipe): stop watching, the guest runs on without a keyboard.
        loop_.remove_fd(fd_);
        watching_fd_ = false;
        return;
    }
    if (got > 0) {
        handle_typed(std::span<const uint8_t>(buffer.data(), static_cast<size_t>(got)));
    }
}

void ConsoleInput::handle_typed(std::span<const uint8_t> bytes) {
    for (const uint8_t byte : bytes) {
        if (escape_enabled_ && escape_seen_) {
            escape_seen_ = false;
            if (byte == 'x' || byte == 'X') {
                feed_uart();  // what was typed before the escape still reaches the guest
                on_quit_();
                return;
            }
            if (byte != kEscape) {
                continue;  // an unknown escape is swallowed, as in QEMU
            }
        } else if (escape_enabled_ && byte == kEscape) {
            escape_seen_ = true;
            continue;
        }
        if (pending_.size() < kMaxPending) {
            pending_.push_back(byte);
        }
    }
    feed_uart();
}

void ConsoleInput::feed_uart() {
    while (!pending_.empty()) {
        // The deque's front run is contiguous enough for the UART's 16-byte FIFO.
        std::array<uint8_t, Uart16550::kFifoSize> chunk;
        const size_t count = std::min(chunk.size(), pending_.size());
        std::copy_n(pending_.begin(), count, chunk.begin());
        const size_t taken = uart_.receive(std::span<const uint8_t>(chunk.data(), count));
        pending_.erase(pending_.begin(), pending_.begin() + taken);
        if (taken < count) {
            return;  // the UART calls back through rx_space_ when it has room
        }
    }
}

}  // namespace hvmm
