// The console: a UART's output on its way to a host fd (stdout). vCPU threads append to a bounded
// buffer and return at once; a writer thread of its own does the possibly blocking write(2), so
// a slow or stopped terminal or pipe never stalls a vCPU. When the buffer is full, new bytes are
// dropped and counted.
//
// Waking the writer costs a system call, and a guest writes its console one byte per exit: the
// writer is woken by the first byte of a burst, at a line end and when much is buffered. Woken
// for a partial line, it waits up to kPartialLineDelay for the rest, so a line printed a byte
// at a time still goes out in one write(2), and a prompt without a newline still shows
// promptly. No periodic timer: an idle console costs nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "devices/serial/serial_output.h"

namespace hvmm {

class ConsoleOutput final : public SerialOutput {
  public:
    static constexpr size_t kDefaultCapacity = 1 << 20;

    // kLater: the writer thread starts at start_writer(), so that it is made after the process
    // has dropped its privileges and can install its own sandbox (a Machine's console); output
    // until then is buffered.
    enum class WriterStart { kNow, kLater };

    explicit ConsoleOutput(int fd, size_t capacity = kDefaultCapacity,
                           WriterStart start = WriterStart::kNow);
    // Starts the writer of a console made with kLater; on_start runs first on its thread.
    void start_writer(std::function<void()> on_start);
    // Writes out what is buffered, then stops the writer thread.
    ~ConsoleOutput() override;

    void write(std::span<const uint8_t> bytes) override;
    // Blocks until everything buffered so far has been written (or the fd failed).
    void flush();
    uint64_t dropped_bytes() const;
    // How long a partial line waits for its end before it is written anyway.
    static constexpr std::chrono::milliseconds kPartialLineDelay{10};

  private:
    void writer_loop(const std::function<void()>& on_start);
    // flush() of a console whose writer never started: the caller writes (under mutex_).
    void write_pending_here();
    // pending_ holds a line end or enough bytes to write at once (under mutex_).
    bool worth_writing_now() const;

    int fd_;
    size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable has_data_;
    std::condition_variable drained_;
    std::vector<uint8_t> pending_;
    bool writing_ = false;
    bool writer_asleep_ = false;
    bool stopping_ = false;
    unsigned flush_waiters_ = 0;  // flush() callers: a partial line is not held for them
    bool fd_failed_ = false;
    uint64_t dropped_ = 0;
    std::thread writer_;  // last: started after every member above exists
};

}  // namespace hvmm
