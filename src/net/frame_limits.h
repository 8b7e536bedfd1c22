// Sizes and bounds shared by the backends.
#pragma once

#include <cstddef>
#include <span>

#include <sys/uio.h>

namespace hvmm::net {

// Destination, source and EtherType: a shorter "frame" carries nothing a NIC could receive.
constexpr size_t kEthernetHeaderSize = 14;
// Large enough for any frame a TAP or socket can carry (64 KiB MTU plus the header), so a
// frame is never silently cut short.
constexpr size_t kMaxFrameSize = 65536 + kEthernetHeaderSize;
// Frames one poll_receive() call hands over at most, so one busy backend cannot starve the
// event loop's other sources; the fd stays readable and the loop comes back.
constexpr size_t kMaxFramesPerPoll = 64;

inline size_t frame_length(std::span<const iovec> frame) {
    size_t length = 0;
    for (const iovec& part : frame) {
        length += part.iov_len;
    }
    return length;
}

}  // namespace hvmm::net
