#include "devices/virtio/net/notification_coalescer.h"

namespace hvmm::virtio {

void NotificationCoalescer::set_limits(const Limits& limits) {
    limits_ = limits;
    held_ = 0;
    timer_armed_ = false;
}

NotificationCoalescer::Action NotificationCoalescer::frames_used(uint64_t frames) {
    if (!coalescing()) {
        return Action::kNotify;
    }
    if (frames == 0) {
        return Action::kHold;  // nothing new; a held notification keeps its timer
    }
    held_ += frames;
    if (limits_.max_packets > 0 && held_ >= limits_.max_packets) {
        held_ = 0;
        timer_armed_ = false;
        return Action::kNotify;
    }
    if (timer_armed_) {
        return Action::kHold;
    }
    timer_armed_ = true;
    return Action::kArmTimer;
}

void NotificationCoalescer::timer_expired() {
    held_ = 0;
    timer_armed_ = false;
}

std::chrono::microseconds NotificationCoalescer::delay() const {
    return limits_.usecs > 0 ? std::chrono::microseconds(limits_.usecs) : kFrameLimitCeiling;
}

}  // namespace hvmm::virtio
