// The `hvmm switch` daemon's core: one named host-only network. It listens on the switch's
// socket (every accepted connection is a StreamPort), on its control socket (one JSON request
// and one JSON response per connection; switch_control.h), and for SIGINT/SIGTERM, and forwards
// every frame a port delivers through the SwitchFabric to the ports it decides.
//
// Single-threaded: everything runs on the thread that calls run(). Ports are only removed
// between callbacks (close_port() defers), and a frame a port injects while another is being
// forwarded waits in a bounded queue, so forwarding never recurses and never meets a port that
// is half gone. Nothing a peer sends can stop the loop: garbage closes that peer's port.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/event_loop.h"
#include "base/signal_fd.h"
#include "base/unique_fd.h"
#include "net/pcap_writer.h"
#include "net/socket/unix_socket_path.h"
#include "vmnet/switch_config.h"
#include "vmnet/switch_fabric.h"
#include "vmnet/switch_port.h"

namespace hvmm::vmnet {

class VirtualSwitch final : public PortHost {
  public:
    // Frames injected during forwarding (DHCP replies) waiting their turn, at most.
    static constexpr size_t kMaxPendingFrames = 64;
    static constexpr size_t kMaxControlConnections = 8;
    static constexpr size_t kMaxControlRequest = 4096;
    // A control client that has not sent its request by then is dropped: the few control slots
    // must not be held by a connection that says nothing.
    static constexpr auto kControlRequestTimeout = std::chrono::seconds(5);

    // Binds the switch's sockets (the caller holds the switch's lock: any file at those paths
    // is stale), opens the uplink, the capture file, the DHCP server's leases and the NAT (its
    // forwards' host ports bound).
    static Result<std::unique_ptr<VirtualSwitch>> create(SwitchConfig config);
    ~VirtualSwitch() override;

    // SIGINT and SIGTERM stop the switch: call in the process that runs it (after a daemon's
    // fork), before run() and before the sandbox is entered (run() does it otherwise).
    Result<void> watch_signals();
    // Until stop(), a stop request on the control socket, or SIGINT/SIGTERM (blocked in the
    // calling thread and read from the loop).
    Result<void> run();
    void stop() { loop_->stop(); }

    // Everything `hvmm switch status --json` shows.
    nlohmann::json status() const;

    // PortHost.
    void ingress(PortId port, std::span<const uint8_t> frame) override;
    void want_writable(PortId port, bool on) override;
    void close_port(PortId port, std::string_view why) override;

  private:
    struct ControlConnection {
        UniqueFd fd;
        std::string request;
        std::chrono::steady_clock::time_point accepted;
    };
    struct PendingFrame {
        PortId port;
        std::vector<uint8_t> frame;
    };
    // Counts kept by the switch itself, beyond the fabric's (which has the drops by cause).
    struct SwitchCounters {
        uint64_t ports_accepted = 0;
        uint64_t ports_refused = 0;  // past max_stream_ports
        uint64_t ports_closed = 0;
        uint64_t pending_dropped = 0;  // injected frames past kMaxPendingFrames
        uint64_t pcap_failures = 0;
        PortCounters closed_ports;  // what ports that are gone counted
    };

    explicit VirtualSwitch(SwitchConfig config);
    Result<void> listen_on(const std::string& path, UniqueFd& socket, net::BoundSocketPath& bound);
    // Registers a port the fabric numbered `id` with the loop.
    Result<void> add_port(PortId id, std::unique_ptr<SwitchPort> port);

    void forward(PortId in, std::span<const uint8_t> frame);
    void capture(std::span<const uint8_t> frame);
    void on_port_events(PortId port, uint32_t events);
    void accept_ports();
    void reap_closed_ports();
    void housekeeping();

    void accept_control();
    void on_control_events(int fd, uint32_t events);
    std::string answer_control(std::string_view request);

    SwitchConfig config_;
    std::unique_ptr<EventLoop> loop_;
    std::optional<SignalFd> signals_;
    UniqueFd listen_;
    net::BoundSocketPath listen_path_;
    UniqueFd control_;
    net::BoundSocketPath control_path_;
    bool listen_paused_ = false;  // out of fds: resumed by housekeeping()

    SwitchFabric fabric_;
    std::map<PortId, std::unique_ptr<SwitchPort>> ports_;
    std::map<PortId, std::string> closing_;  // port -> why, removed after the current callback
    std::deque<PendingFrame> pending_;
    bool forwarding_ = false;
    std::optional<PcapWriter> pcap_;
    std::map<int, ControlConnection> controls_;

    SwitchCounters counters_;
    std::chrono::steady_clock::time_point started_;
    unsigned housekeeping_ticks_ = 0;
};

}  // namespace hvmm::vmnet
