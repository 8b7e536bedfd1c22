#include "net/slirp/slirp_timers.h"

#include <algorithm>

namespace hvmm::net {

void* SlirpTimers::create(SlirpTimerId id, void* cb_opaque) {
    timers_.push_back(std::make_unique<Timer>(Timer{id, cb_opaque, std::nullopt}));
    return timers_.back().get();
}

void SlirpTimers::destroy(void* timer) {
    std::erase_if(timers_, [timer](const auto& held) { return held.get() == timer; });
}

void SlirpTimers::modify(void* timer, int64_t expire_ms) {
    for (const auto& held : timers_) {
        if (held.get() == timer) {
            held->deadline_ms = expire_ms;
            return;
        }
    }
}

std::optional<int64_t> SlirpTimers::earliest() const {
    std::optional<int64_t> earliest;
    for (const auto& timer : timers_) {
        if (timer->deadline_ms && (!earliest || *timer->deadline_ms < *earliest)) {
            earliest = timer->deadline_ms;
        }
    }
    return earliest;
}

std::vector<SlirpTimers::Expired> SlirpTimers::take_expired(int64_t now_ms) {
    std::vector<Expired> expired;
    for (const auto& timer : timers_) {
        if (timer->deadline_ms && *timer->deadline_ms <= now_ms) {
            timer->deadline_ms.reset();
            expired.push_back(Expired{timer->id, timer->cb_opaque});
        }
    }
    return expired;
}

}  // namespace hvmm::net
