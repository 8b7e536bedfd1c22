#include "net/slirp/guest_frame_queue.h"

namespace hvmm::net {

bool GuestFrameQueue::push(std::span<const uint8_t> frame) {
    if (frames_.size() >= max_frames_ || frame.size() > max_bytes_ - bytes_) {
        return false;
    }
    frames_.emplace_back(frame.begin(), frame.end());
    bytes_ += frame.size();
    return true;
}

std::optional<std::vector<uint8_t>> GuestFrameQueue::pop() {
    if (frames_.empty()) {
        return std::nullopt;
    }
    std::vector<uint8_t> frame = std::move(frames_.front());
    frames_.pop_front();
    bytes_ -= frame.size();
    return frame;
}

}  // namespace hvmm::net
