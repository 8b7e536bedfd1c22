#include "vmnet/dhcp_port.h"

#include <fmt/core.h>

namespace hvmm::vmnet {

Result<std::unique_ptr<DhcpPort>> DhcpPort::create(PortId id, PortHost& host, DhcpServer server,
                                                   std::string leases_file) {
    const auto loaded =
        HVMM_TRY(server.load_leases_file(leases_file, std::chrono::system_clock::now()));
    if (loaded.restored > 0 || loaded.skipped > 0) {
        log::info("DHCP: {} lease(s) restored, {} skipped from {}", loaded.restored,
                  loaded.skipped, leases_file);
    }
    return std::unique_ptr<DhcpPort>(
        new DhcpPort(id, host, std::move(server), std::move(leases_file)));
}

std::string DhcpPort::peer() const {
    return fmt::format("DHCP server {} ({})", net::to_string(server_.server_address()),
                       net::to_string(server_.config().server_mac));
}

void DhcpPort::send(std::span<const uint8_t> frame) {
    const auto before = server_.counters();
    const WallTime now = std::chrono::system_clock::now();
    const auto reply = server_.handle(frame, now);
    ++counters_.tx_frames;  // taken by the server, as a peer takes a frame
    counters_.tx_bytes += frame.size();
    const auto& after = server_.counters();
    if (after.acks != before.acks || after.releases != before.releases ||
        after.declines != before.declines) {
        leases_dirty_ = true;
        if (std::chrono::steady_clock::now() - last_save_ >= kMinSaveInterval) {
            save_leases();
        }
    }
    if (reply) {
        host_.ingress(id_, *reply);
    }
}

DhcpPort::~DhcpPort() {
    tick();
}

void DhcpPort::tick() {
    if (leases_dirty_) {
        save_leases();
    }
}

void DhcpPort::save_leases() {
    leases_dirty_ = false;
    last_save_ = std::chrono::steady_clock::now();
    if (auto saved = server_.save_leases_file(leases_file_, std::chrono::system_clock::now());
        !saved) {
        save_warning_("{}", saved.error().message);
    }
}

nlohmann::json DhcpPort::details() const {
    const auto& c = server_.counters();
    return {{"subnet", net::to_string(server_.subnet())},
            {"leases_file", leases_file_},
            {"discovers", c.discovers},
            {"requests", c.requests},
            {"offers", c.offers},
            {"acks", c.acks},
            {"naks", c.naks},
            {"arp_replies", c.arp_replies},
            {"pool_exhausted", c.pool_exhausted},
            {"dropped", c.total_dropped()}};
}

nlohmann::json leases_to_json(const DhcpServer& server, WallTime now) {
    nlohmann::json out = nlohmann::json::array();
    for (const DhcpLease& lease : server.leases(now)) {
        out.push_back(
            {{"mac", net::to_string(lease.mac)},
             {"address", net::to_string(lease.address)},
             {"state", lease.bound ? "bound" : "offered"},
             {"expires_in_seconds",
              std::chrono::duration_cast<std::chrono::seconds>(lease.expires - now).count()}});
    }
    return out;
}

}  // namespace hvmm::vmnet
