#include "devices/serial/console_output.h"

#include <pthread.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "base/syscall_count.h"

namespace hvmm {

ConsoleOutput::ConsoleOutput(int fd, size_t capacity, WriterStart start)
    : fd_(fd), capacity_(capacity) {
    if (start == WriterStart::kNow) {
        start_writer({});
    }
}

void ConsoleOutput::start_writer(std::function<void()> on_start) {
    writer_ = std::thread([this, on_start = std::move(on_start)] { writer_loop(on_start); });
}

ConsoleOutput::~ConsoleOutput() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    has_data_.notify_one();
    if (writer_.joinable()) {
        writer_.join();
    } else {
        std::lock_guard lock(mutex_);
        write_pending_here();
    }
}

void ConsoleOutput::write_pending_here() {
    size_t done = 0;
    while (done < pending_.size() && !fd_failed_) {
        const ssize_t written = ::write(fd_, pending_.data() + done, pending_.size() - done);
        if (written < 0 && errno != EINTR) {
            fd_failed_ = true;
        } else if (written > 0) {
            done += static_cast<size_t>(written);
        }
    }
    pending_.clear();
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
    if (!writer_.joinable()) {
        write_pending_here();
        return;
    }
    if (fd_failed_) {
        // Nowhere to write: what is buffered is dropped (and counted), not waited for.
        dropped_ += pending_.size();
        pending_.clear();
        return;
    }
    ++flush_waiters_;
    has_data_.notify_one();
    drained_.wait(lock, [this] { return (pending_.empty() && !writing_) || fd_failed_; });
    --flush_waiters_;
}

uint64_t ConsoleOutput::dropped_bytes() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

void ConsoleOutput::writer_loop(const std::function<void()>& on_start) {
    ::pthread_setname_np(::pthread_self(), "console");
    if (on_start) {
        on_start();
    }
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
        // Once the fd failed the output has nowhere to go: dropped and counted, not retried.
        const bool discard = fd_failed_;
        if (discard) {
            dropped_ += batch.size();
        }
        writing_ = true;
        lock.unlock();
        size_t done = 0;
        bool failed = false;
        while (!discard && done < batch.size()) {
            const ssize_t written = ::write(fd_, batch.data() + done, batch.size() - done);
            if (written < 0) {
                if (errno == EINTR)
                    continue;
                // stdout closed (a pipe's reader gone, a full disk): the guest keeps running,
                // its output is lost, and the user is told once.
                log::warn("console output stopped: {}; the guest runs on", std::strerror(errno));
                failed = true;
                break;
            }
            done += static_cast<size_t>(written);
        }
        const size_t lost = failed ? batch.size() - done : 0;
        batch.clear();
        lock.lock();
        writing_ = false;
        if (failed) {
            fd_failed_ = true;
            dropped_ += lost;
        }

        if (pending_.empty()) {
            drained_.notify_all();
        }
    }
    drained_.notify_all();
}

}  // namespace hvmm
