// A FrameSink for backend tests: records frames and link changes, and can refuse frames.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "net/net_backend.h"

namespace hvmm::testing {

class RecordingSink final : public FrameSink {
  public:
    bool can_receive() override { return accepting; }
    void receive(std::span<const uint8_t> frame) override {
        frames.emplace_back(frame.begin(), frame.end());
    }
    void link_changed(bool up) override { link_changes.push_back(up); }

    bool accepting = true;
    std::vector<std::vector<uint8_t>> frames;
    std::vector<bool> link_changes;
};

// A broadcast frame with a local experimental EtherType (0x88B5) and `tag` in its payload, so
// a test can tell its own frames from whatever else the host puts on an interface.
inline std::vector<uint8_t> test_frame(uint8_t tag, size_t length = 60) {
    std::vector<uint8_t> frame(length, tag);
    for (int i = 0; i < 6; ++i) frame[i] = 0xFF;
    const uint8_t source[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    for (int i = 0; i < 6; ++i) frame[6 + i] = source[i];
    frame[12] = 0x88;
    frame[13] = 0xB5;
    return frame;
}

}  // namespace hvmm::testing
