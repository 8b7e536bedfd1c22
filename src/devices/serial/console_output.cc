#include "devices/serial/console_output.h"

#include <pthread.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/syscall_count.h"

namespace hvmm {

ConsoleOutput::ConsoleOutput(int fd, size_t capacity)
    : fd_(fd), capacity_(capacity), writer_([this] { writer_loop(); }) {}

ConsoleOutput::~ConsoleOutput() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    has_data_.notify_one();
    writer_.join();
}

namespace {
// Buffered bytes that wake the writer without waiting for a line end.
constexpr size_t kEagerWakeBytes = 4096;
}  // namespace

void ConsoleOutput::write(std::span<const uint8_t> bytes) {
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        const bool burst_starts = pending_.empty();
        const size_t room = capacity_ - std::min(capacity_, pending_.size());
        const size_t taken = std::min(room, bytes.size());
        pending_.insert(pending_.end(), bytes.begin(), bytes.begin() + taken);
        dropped_ += bytes.size() - taken;
        const bool line_end = std::find(bytes.begin(), bytes.end(), '\n') != bytes.end();
        wake = writer_asleep_ && (burst_starts || line_end || pending_.size() >= kEagerWakeBytes);
    }
    if (wake) {
        // Waking a sleeping writer is a futex system call, on the vCPU's exit path: counted.
        stats::count_syscall();
        has_data_.notify_one();
    }
}

bool ConsoleOutput::worth_writing_now() const {
    return pending_.size() >= kEagerWakeBytes ||
           std::find(pending_.begin(), pending_.end(), '\n') != pending_.end();
}

void ConsoleOutput::flush() {
    std::unique_lock lock(mutex_);
    ++flush_waiters_;
    has_data_.notify_one();
    drained_.wait(lock, [this] { return (pending_.empty() && !writing_) || fd_failed_; });
    --flush_waiters_;
}

uint64_t ConsoleOutput::dropped_bytes() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

void ConsoleOutput::writer_loop() {
    ::pthread_setname_np(::pthread_self(), "console");
    std::vector<uint8_t> batch;
    std::unique_lock lock(mutex_);
    while (true) {
        writer_asleep_ = true;
        has_data_.wait(lock, [this] { return !pending_.empty() || stopping_; });
        // A partial line: give the guest a moment to finish it (see the header).
        has_data_.wait_for(lock, kPartialLineDelay, [this] {
            return stopping_ || flush_waiters_ > 0 || worth_writing_now();
        });
        writer_asleep_ = false;
        if (pending_.empty() && stopping_) {
            break;
        }
        batch.swap(pending_);
        writing_ = true;
        lock.unlock();
        size_t done = 0;
        bool failed = false;
        while (done < batch.size()) {
            const ssize_t written = ::write(fd_, batch.data() + done, batch.size() - done);
            if (written < 0) {
                if (errno == EINTR)
                    continue;
                failed = true;  // stdout closed: the guest keeps running, its output is lost
                break;
            }
            done += static_cast<size_t>(written);
        }
        batch.clear();
        lock.lock();
        writing_ = false;
        if (failed) {
            fd_failed_ = true;
        }
        if (pending_.empty()) {
            drained_.notify_all();
        }
    }
    drained_.notify_all();
}

}  // namespace hvmm
