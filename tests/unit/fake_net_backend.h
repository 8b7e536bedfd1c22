// A NetBackend for NIC tests: records every frame sent, and lets the test push frames into the
// NIC the way a backend's poll_receive would, honouring can_receive().
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "net/net_backend.h"

namespace hvmm::testing {

class FakeNetBackend final : public NetBackend {
  public:
    void send(std::span<const iovec> frame) override {
        if (on_send)
            on_send();
        std::vector<uint8_t> bytes;
        for (const iovec& part : frame) {
            const auto* p = static_cast<const uint8_t*>(part.iov_base);
            bytes.insert(bytes.end(), p, p + part.iov_len);
        }
        stats_.tx_frames++;
        stats_.tx_bytes += bytes.size();
        sent.push_back(std::move(bytes));
        sent_iovecs.emplace_back(frame.begin(), frame.end());
    }
    using NetBackend::send;
    void set_sink(FrameSink* sink) override { sink_ = sink; }
    int receive_fd() const override { return -1; }
    size_t poll_receive() override {
        size_t delivered = 0;
        while (!pending.empty() && sink_ && sink_->can_receive()) {
            sink_->receive(pending.front());
            pending.erase(pending.begin());
            ++delivered;
        }
        return delivered;
    }
    bool link_up() const override { return true; }
    std::string_view describe() const override { return "fake"; }
    NetBackendStats stats() const override { return stats_; }
    size_t vnet_header_size() const override { return vnet_header; }
    Result<void> set_receive_offloads(const net::NetOffloads& offloads) override {
        if (vnet_header == 0)
            return NetBackend::set_receive_offloads(offloads);
        receive_offloads.push_back(offloads);
        return {};
    }
    FrameSink* sink() const { return sink_; }

    // Queues a frame and delivers what the sink accepts; returns frames delivered.
    size_t inject(std::vector<uint8_t> frame) {
        pending.push_back(std::move(frame));
        return poll_receive();
    }

    std::vector<std::vector<uint8_t>> sent;
    // The gather list of each send, as the NIC handed it (pointers into its memory).
    std::vector<std::vector<iovec>> sent_iovecs;
    // 12 to act as a backend whose frames carry a virtio-net header (a TAP with IFF_VNET_HDR).
    size_t vnet_header = 0;
    std::vector<net::NetOffloads> receive_offloads;  // each set_receive_offloads() call
    std::vector<std::vector<uint8_t>> pending;
    // Called as each frame is sent, before it is recorded (the chip's lock is not held).
    std::function<void()> on_send;

  private:
    FrameSink* sink_ = nullptr;
    NetBackendStats stats_;
};

}  // namespace hvmm::testing
