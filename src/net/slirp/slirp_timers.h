// libslirp's timers as deadlines the backend keeps. With SlirpConfig version 4 libslirp asks the
// application for "opaque" timers (timer_new_opaque) and expects slirp_handle_timer(id,
// cb_opaque) when one expires; it has no thread of its own, so the backend arms its timerfd to
// the earliest deadline here and fires what has expired on the I/O thread.
//
// Deadlines are milliseconds of CLOCK_MONOTONIC, the clock the backend gives libslirp
// (clock_get_ns) and the unit of timer_mod. Not thread-safe: the backend's libslirp lock.
#pragma once

#include <libslirp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace hvmm::net {

class SlirpTimers {
  public:
    struct Expired {
        SlirpTimerId id;
        void* cb_opaque;
    };

    // The handle libslirp holds; valid until destroy().
    void* create(SlirpTimerId id, void* cb_opaque);
    void destroy(void* timer);
    void modify(void* timer, int64_t expire_ms);

    std::optional<int64_t> earliest() const;
    // Disarms and returns every timer due at now_ms, for the caller to fire. Firing may create,
    // modify or destroy timers, so it happens after this returns, never during the walk.
    std::vector<Expired> take_expired(int64_t now_ms);
    size_t size() const { return timers_.size(); }

  private:
    struct Timer {
        SlirpTimerId id;
        void* cb_opaque;
        std::optional<int64_t> deadline_ms;
    };
    std::vector<std::unique_ptr<Timer>> timers_;
};

}  // namespace hvmm::net
