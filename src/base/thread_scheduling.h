// The scheduling policy of hvmm's own threads.
#pragma once

#include <optional>
#include <string_view>

#include "base/error.h"

namespace hvmm {

// How the I/O thread shares a CPU with the vCPU threads (`hvmm run --io-sched`).
enum class IoThreadScheduling {
    // SCHED_BATCH: a wakeup of the I/O thread (a kick's ioeventfd, a frame from the backend)
    // does not preempt a vCPU running on the same CPU. The I/O thread runs when that vCPU
    // halts or its time slice ends, and then finds several frames where a preempting wakeup
    // found one: the guest, which sees its notifications still off, queues more without
    // exiting. On a CPU of its own the I/O thread runs at once either way.
    kBatch,
    // SCHED_OTHER, as every thread starts: each wakeup may preempt the vCPU at once.
    kNormal,
};

// "batch" / "normal".
std::string_view to_string(IoThreadScheduling scheduling);
// "batch", "normal", or "auto" (nullopt: the caller chooses by what the thread will carry).
Result<std::optional<IoThreadScheduling>> parse_io_thread_scheduling(std::string_view text);

// Gives the calling thread SCHED_BATCH or SCHED_OTHER at nice 0. Needs no privilege: an
// unprivileged thread may move between the two at its nice value (sched(7)).
Result<void> set_current_thread_scheduling(IoThreadScheduling scheduling);

}  // namespace hvmm
