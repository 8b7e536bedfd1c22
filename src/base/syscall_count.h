// Host system calls made on a thread's behalf, counted where hvmm makes them (KVM_IRQ_LINE,
// eventfd signals, TAP reads and writes, poll). The paper's question is what a guest's port
// access costs the host; a system call on the vCPU's path is part of that cost even when no
// world switch happens. Each thread that wants its calls counted points syscall_sink at a
// counter it owns (a vCPU at its VcpuStats, the I/O thread at MachineStats); calls made on
// other threads (the console writer, say) are not attributed.
#pragma once

#include <atomic>
#include <cstdint>

namespace hvmm::stats {

// One writer (the owning thread), any number of readers.
class SyscallCounter {
  public:
    void add() { count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
    uint64_t read() const { return count_.load(std::memory_order_relaxed); }

  private:
    std::atomic<uint64_t> count_{0};
};

inline thread_local SyscallCounter* syscall_sink = nullptr;

// Call next to each host system call hvmm makes on a hot path.
inline void count_syscall() {
    if (syscall_sink != nullptr) {
        syscall_sink->add();
    }
}

// The calling thread's count so far (0 if it has no counter): taken around one exit's handling.
inline uint64_t syscalls_so_far() {
    return syscall_sink != nullptr ? syscall_sink->read() : 0;
}

}  // namespace hvmm::stats
