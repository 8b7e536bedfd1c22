#include "base/thread_scheduling.h"

#include <sched.h>

namespace hvmm {

std::string_view to_string(IoThreadScheduling scheduling) {
    return scheduling == IoThreadScheduling::kBatch ? "batch" : "normal";
}

Result<std::optional<IoThreadScheduling>> parse_io_thread_scheduling(std::string_view text) {
    if (text == "auto") {
        return std::optional<IoThreadScheduling>{};
    }
    if (text == "batch") {
        return IoThreadScheduling::kBatch;
    }
    if (text == "normal") {
        return IoThreadScheduling::kNormal;
    }
    return fail("--io-sched '{}': want auto, batch or normal", text);
}

Result<void> set_current_thread_scheduling(IoThreadScheduling scheduling) {
    const sched_param priority{};  // 0: the only priority the two fair policies have
    const int policy = scheduling == IoThreadScheduling::kBatch ? SCHED_BATCH : SCHED_OTHER;
    // 0 names the calling thread (sched_setscheduler is per thread on Linux).
    if (::sched_setscheduler(0, policy, &priority) != 0) {
        return fail_errno("cannot give the I/O thread the {} scheduling policy",
                          to_string(scheduling));
    }
    return {};
}

}  // namespace hvmm
