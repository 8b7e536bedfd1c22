// A NetBackend decorator that records both directions to a pcap file (--nic ...,pcap=FILE) and
// otherwise passes everything through. It stands between the NIC and the real backend: the NIC
// sends to it and it is the real backend's sink.
#pragma once

#include <memory>
#include <mutex>

#include "net/net_backend.h"
#include "net/pcap_writer.h"

namespace hvmm {

class RecordingBackend final : public NetBackend, private FrameSink {
  public:
    RecordingBackend(std::unique_ptr<NetBackend> inner, PcapWriter writer);

    using NetBackend::send;
    void send(std::span<const iovec> frame) override;
    void set_sink(FrameSink* sink) override;
    int receive_fd() const override { return inner_->receive_fd(); }
    size_t poll_receive() override { return inner_->poll_receive(); }
    bool link_up() const override { return inner_->link_up(); }
    void refresh_link() override { inner_->refresh_link(); }
    std::string_view describe() const override { return inner_->describe(); }
    NetBackendStats stats() const override { return inner_->stats(); }
    std::vector<NamedCount> named_counts() const override { return inner_->named_counts(); }
    bool receive_fd_pauses_itself() const override { return inner_->receive_fd_pauses_itself(); }
    // The capture holds Ethernet frames: a vnet header is passed through but not recorded.
    size_t vnet_header_size() const override { return inner_->vnet_header_size(); }
    Result<void> set_receive_offloads(const net::NetOffloads& offloads) override {
        return inner_->set_receive_offloads(offloads);
    }

    NetBackend& inner() { return *inner_; }

  private:
    // FrameSink, as the inner backend's sink.
    bool can_receive() override { return sink_ != nullptr && sink_->can_receive(); }
    void receive(std::span<const uint8_t> frame) override;
    void link_changed(bool up) override;

    void record(std::span<const iovec> frame);

    std::unique_ptr<NetBackend> inner_;
    FrameSink* sink_ = nullptr;
    std::mutex writer_mutex_;  // the vCPU thread records sends, the I/O thread receives
    PcapWriter writer_;
    bool writer_failed_ = false;
};

}  // namespace hvmm
