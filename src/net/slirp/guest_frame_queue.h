// Frames libslirp produced for the guest, held until the I/O thread hands them to the NIC.
// libslirp may produce a frame inside send() on a vCPU thread (an ARP or DHCP reply comes back
// synchronously from slirp_input), where the sink must not be called; and the NIC may have no
// receive buffer when a frame comes. Bounded in frames and in bytes: a push past either bound is
// refused (tail drop), which libslirp's send_packet contract allows (TCP retransmits).
// Not thread-safe: the backend's libslirp lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

namespace hvmm::net {

class GuestFrameQueue {
  public:
    GuestFrameQueue(size_t max_frames, size_t max_bytes)
        : max_frames_(max_frames), max_bytes_(max_bytes) {}

    bool push(std::span<const uint8_t> frame);
    std::optional<std::vector<uint8_t>> pop();
    bool empty() const { return frames_.empty(); }
    size_t frames() const { return frames_.size(); }
    size_t bytes() const { return bytes_; }

  private:
    const size_t max_frames_;
    const size_t max_bytes_;
    std::deque<std::vector<uint8_t>> frames_;
    size_t bytes_ = 0;
};

}  // namespace hvmm::net
