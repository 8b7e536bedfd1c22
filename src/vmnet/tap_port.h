// The switch's uplink: a port bridged to an existing TAP interface on the host (`--uplink
// tap:NAME`), so the host (or whatever the TAP is bridged to) is one more station on the switch.
// Frames go through TapBackend (net/tap/); only an interface that already exists is taken, since
// the switch runs unprivileged and a TAP it created would vanish with it.
//
// Single-threaded (the daemon's loop).
#pragma once

#include <memory>

#include "net/tap/tap_backend.h"
#include "vmnet/switch_port.h"

namespace hvmm::vmnet {

class TapPort final : public SwitchPort, private FrameSink {
  public:
    // A one-line error naming the way out when NAME does not exist or cannot be opened.
    static Result<std::unique_ptr<TapPort>> open(PortId id, PortHost& host, std::string_view name);

    std::string_view kind() const override { return "tap"; }
    std::string peer() const override;
    void send(std::span<const uint8_t> frame) override;
    int fd() const override { return backend_->receive_fd(); }
    void handle_events(uint32_t events) override;
    PortCounters counters() const override;

  private:
    TapPort(PortId id, PortHost& host, std::unique_ptr<TapBackend> backend);
    // FrameSink: what the TAP delivers goes into the switch.
    bool can_receive() override { return true; }
    void receive(std::span<const uint8_t> frame) override { host_.ingress(id_, frame); }

    PortId id_;
    PortHost& host_;
    std::unique_ptr<TapBackend> backend_;
};

}  // namespace hvmm::vmnet
