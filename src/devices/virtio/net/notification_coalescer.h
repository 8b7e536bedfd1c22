// VIRTIO_NET_F_NOTF_COAL's rule for one queue (VIRTIO 1.3, "Notifications Coalescing"): the
// driver sets max_packets and usecs (Linux: `ethtool -C eth0 rx-frames N rx-usecs U` and the
// tx- pair), and the device then holds a used buffer notification until max_packets frames were
// used since the last one, or usecs passed since the first frame it held. Both 0 (the state
// after reset) or max_packets 1 with usecs 0: every drain notifies as before. The driver's own
// suppression (EVENT_IDX) still decides whether a notification that comes due is sent.
//
// This is the decision alone, with no clock or queue: VirtioNet asks it after each drain and
// arms a one-shot timer when it says so. max_packets without usecs is held at most
// kFrameLimitCeiling, so a link that goes quiet never keeps a completion from the driver (a TX
// completion it never gets would stall TCP's small-queue accounting for good).
#pragma once

#include <chrono>
#include <cstdint>

namespace hvmm::virtio {

class NotificationCoalescer {
  public:
    struct Limits {
        uint32_t max_packets = 0;
        uint32_t usecs = 0;
        bool operator==(const Limits&) const = default;
    };
    enum class Action : uint8_t {
        kNotify,    // notify now (if the driver's suppression allows); the timer, if any, stops
        kArmTimer,  // hold, and call timer_expired() after delay()
        kHold,      // hold; the timer armed earlier still runs
    };
    // The longest a frame count alone (usecs 0) holds a notification.
    static constexpr std::chrono::microseconds kFrameLimitCeiling{1000};
    // usecs above this are refused (the command is answered ERR): a second is already far past
    // any moderation a NIC does, and a bound keeps the timer's arithmetic plain.
    static constexpr uint32_t kMaxUsecs = 1'000'000;

    static bool acceptable(const Limits& limits) { return limits.usecs <= kMaxUsecs; }
    // New limits (the control queue's TX_SET / RX_SET). Whatever was held is released: the
    // caller notifies once after the change.
    void set_limits(const Limits& limits);
    Limits limits() const { return limits_; }
    bool coalescing() const { return limits_.max_packets > 1 || limits_.usecs > 0; }

    // A drain used `frames` frames (0: it used none, and nothing is due for it).
    Action frames_used(uint64_t frames);
    // The timer armed on kArmTimer fired: what was held is due now.
    void timer_expired();
    std::chrono::microseconds delay() const;
    uint64_t held_frames() const { return held_; }
    bool timer_armed() const { return timer_armed_; }
    // Reset: limits back to 0, nothing held.
    void reset() { *this = NotificationCoalescer{}; }

  private:
    Limits limits_{};
    uint64_t held_ = 0;
    bool timer_armed_ = false;
};

}  // namespace hvmm::virtio
