// What `hvmm switch status` shows: ports with their peers and counters, the MAC table, the
// leases, drops by cause, uptime. Built on the loop's thread when a status request comes in.
#include <unistd.h>

#include "vmnet/dhcp_port.h"
#include "vmnet/virtual_switch.h"

namespace hvmm::vmnet {
namespace {

std::string_view drop_name(SwitchDrop drop) {
    switch (drop) {
        case SwitchDrop::kUnknownPort:
            return "unknown_port";
        case SwitchDrop::kRunt:
            return "runt";
        case SwitchDrop::kOversize:
            return "oversize";
        case SwitchDrop::kGroupSource:
            return "multicast_source";
        case SwitchDrop::kZeroSource:
            return "zero_source";
        case SwitchDrop::kSamePort:
            return "same_port";
    }
    return "other";
}

nlohmann::json fabric_drops(const SwitchPortStats& stats) {
    nlohmann::json out = nlohmann::json::object();
    for (size_t i = 0; i < kSwitchDropReasons; ++i) {
        out[std::string(drop_name(static_cast<SwitchDrop>(i)))] = stats.dropped[i];
    }
    return out;
}

nlohmann::json port_counters(const PortCounters& c) {
    return {{"tx_frames", c.tx_frames},         {"tx_bytes", c.tx_bytes},
            {"tx_queue_full", c.tx_queue_full}, {"tx_failed", c.tx_failed},
            {"rx_bad_length", c.rx_bad_length}, {"rx_truncated", c.rx_truncated}};
}

}  // namespace

nlohmann::json VirtualSwitch::status() const {
    const auto now = std::chrono::steady_clock::now();
    nlohmann::json out;
    out["name"] = config_.name;
    out["pid"] = ::getpid();
    out["socket"] = config_.paths.socket;
    out["uptime_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(now - started_).count();

    nlohmann::json ports = nlohmann::json::array();
    PortCounters live;
    const DhcpPort* dhcp = nullptr;
    for (const auto& [id, port] : ports_) {
        const SwitchPortStats in = fabric_.port_stats(id);
        const PortCounters counters = port->counters();
        live += counters;
        nlohmann::json entry = {{"id", id},
                                {"kind", port->kind()},
                                {"peer", port->peer()},
                                {"rx_frames", in.rx_frames},
                                {"rx_bytes", in.rx_bytes},
                                {"rx_unicast", in.unicast},
                                {"rx_flooded", in.flooded},
                                {"rx_dropped", fabric_drops(in)},
                                {"queued_bytes", port->queued_bytes()},
                                {"macs", fabric_.mac_table().port_size(id)}};
        entry.update(port_counters(counters));
        if (auto details = port->details(); !details.is_null()) {
            entry["details"] = std::move(details);
        }
        ports.push_back(std::move(entry));
        if (port->kind() == "dhcp") {
            dhcp = static_cast<const DhcpPort*>(port.get());
        }
    }
    out["ports"] = std::move(ports);

    const MacTable& table = fabric_.mac_table();
    nlohmann::json entries = nlohmann::json::array();
    for (const MacTableEntry& entry : table.entries(now)) {
        entries.push_back(
            {{"mac", net::to_string(entry.mac)},
             {"port", entry.port},
             {"age_seconds",
              std::chrono::duration_cast<std::chrono::seconds>(now - entry.last_seen).count()}});
    }
    const MacTableCounters& learned = table.counters();
    out["mac_table"] = {{"size", table.size()},
                        {"capacity", table.config().capacity},
                        {"per_port_cap", table.config().per_port_cap},
                        {"max_age_seconds", table.config().max_age.count()},
                        {"learned", learned.learned},
                        {"moved", learned.moved},
                        {"evicted", learned.evicted},
                        {"expired", learned.expired},
                        {"entries", std::move(entries)}};

    if (dhcp != nullptr) {
        out["dhcp"] = {{"subnet", net::to_string(dhcp->server().subnet())},
                       {"leases", leases_to_json(dhcp->server(), std::chrono::system_clock::now())}};
    }

    // Every drop the switch made, by cause, over its whole life (ports gone included).
    PortCounters all = counters_.closed_ports;
    all += live;
    const SwitchPortStats& totals = fabric_.totals();
    nlohmann::json drops = fabric_drops(totals);
    drops["tx_queue_full"] = all.tx_queue_full;
    drops["tx_failed"] = all.tx_failed;
    drops["bad_length_disconnects"] = all.rx_bad_length;
    drops["truncated_at_close"] = all.rx_truncated;
    drops["pending_overflow"] = counters_.pending_dropped;
    out["drops"] = std::move(drops);
    out["totals"] = {{"rx_frames", totals.rx_frames},
                     {"rx_bytes", totals.rx_bytes},
                     {"unicast", totals.unicast},
                     {"flooded", totals.flooded},
                     {"ports_accepted", counters_.ports_accepted},
                     {"ports_refused", counters_.ports_refused},
                     {"ports_closed", counters_.ports_closed}};
    if (config_.pcap_file) {
        out["pcap"] = {{"file", *config_.pcap_file}, {"active", pcap_.has_value()}};
    }
    return out;
}

}  // namespace hvmm::vmnet
