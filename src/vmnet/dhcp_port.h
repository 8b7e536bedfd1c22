// The switch's DHCP server as a port: a frame the fabric forwards to it (broadcast DISCOVERs and
// REQUESTs, ARP for the server, unicast to the server's MAC) goes to DhcpServer, and its reply
// comes back into the switch as a frame from this port, so the fabric learns the server's MAC
// like any station's. Leases are written to the lease file when a lease is granted, released or
// declined, so a restarted switch (or a SIGKILLed one) gives every guest its address back; at
// most once a second (each write is an fsync, and a guest can ask for leases as fast as it
// likes), the rest at the next tick() and when the port goes.
//
// Single-threaded (the daemon's loop).
#pragma once

#include <string>

#include "base/log.h"
#include "vmnet/dhcp_server.h"
#include "vmnet/switch_port.h"

namespace hvmm::vmnet {

class DhcpPort final : public SwitchPort {
  public:
    // Loads the leases from leases_file (a missing file is no leases; a damaged one is an
    // error, so a typo'd edit is not silently thrown away).
    static Result<std::unique_ptr<DhcpPort>> create(PortId id, PortHost& host, DhcpServer server,
                                                    std::string leases_file);

    std::string_view kind() const override { return "dhcp"; }
    std::string peer() const override;
    void send(std::span<const uint8_t> frame) override;
    int fd() const override { return -1; }
    void handle_events(uint32_t) override {}
    PortCounters counters() const override { return counters_; }
    void tick() override;
    nlohmann::json details() const override;
    ~DhcpPort() override;

    const DhcpServer& server() const { return server_; }

  private:
    DhcpPort(PortId id, PortHost& host, DhcpServer server, std::string leases_file)
        : id_(id), host_(host), server_(std::move(server)), leases_file_(std::move(leases_file)) {}
    void save_leases();

    static constexpr auto kMinSaveInterval = std::chrono::seconds(1);

    PortId id_;
    PortHost& host_;
    DhcpServer server_;
    std::string leases_file_;
    PortCounters counters_;
    bool leases_dirty_ = false;
    std::chrono::steady_clock::time_point last_save_{};
    log::RateLimitedWarning save_warning_;
};

// The leases as JSON for `hvmm switch status`.
nlohmann::json leases_to_json(const DhcpServer& server, WallTime now);

}  // namespace hvmm::vmnet
