#include "vmnet/switch_fabric.h"

#include <algorithm>

namespace hvmm::vmnet {

SwitchFabric::SwitchFabric(MacTableConfig mac_table, size_t max_frame)
    : mac_table_(mac_table), max_frame_(max_frame) {}

PortId SwitchFabric::add_port() {
    const PortId port = next_port_++;
    ports_.emplace(port, SwitchPortStats{});
    return port;
}

bool SwitchFabric::remove_port(PortId port) {
    if (ports_.erase(port) == 0) {
        return false;
    }
    mac_table_.forget_port(port);
    return true;
}

std::vector<PortId> SwitchFabric::ports() const {
    std::vector<PortId> out;
    out.reserve(ports_.size());
    for (const auto& [port, stats] : ports_) out.push_back(port);
    std::sort(out.begin(), out.end());
    return out;
}

SwitchPortStats SwitchFabric::port_stats(PortId port) const {
    const auto it = ports_.find(port);
    return it == ports_.end() ? SwitchPortStats{} : it->second;
}

ForwardDecision SwitchFabric::drop(SwitchPortStats* port, SwitchDrop reason) {
    const auto index = static_cast<size_t>(reason);
    ++totals_.dropped[index];
    if (port != nullptr) {
        ++port->dropped[index];
    }
    return ForwardDecision{.kind = ForwardDecision::Kind::kDrop, .reason = reason};
}

ForwardDecision SwitchFabric::forward(PortId in, std::span<const uint8_t> frame, TimePoint now) {
    const auto it = ports_.find(in);
    if (it == ports_.end()) {
        return drop(nullptr, SwitchDrop::kUnknownPort);
    }
    SwitchPortStats& port = it->second;
    if (frame.size() < net::kEthernetHeaderSize) {
        return drop(&port, SwitchDrop::kRunt);
    }
    if (frame.size() > max_frame_) {
        return drop(&port, SwitchDrop::kOversize);
    }
    const MacAddress destination = net::mac_from_bytes(frame.first<6>());
    const MacAddress source = net::mac_from_bytes(frame.subspan<6, 6>());
    if (net::is_multicast(source)) {
        return drop(&port, SwitchDrop::kGroupSource);
    }
    if (net::is_zero(source)) {
        return drop(&port, SwitchDrop::kZeroSource);
    }
    mac_table_.learn(source, in, now);
    const auto out = mac_table_.lookup(destination, now);
    if (out && *out == in) {
        return drop(&port, SwitchDrop::kSamePort);
    }
    for (SwitchPortStats* stats : {&port, &totals_}) {
        ++stats->rx_frames;
        stats->rx_bytes += frame.size();
        ++(out ? stats->unicast : stats->flooded);
    }
    if (out) {
        return ForwardDecision{.kind = ForwardDecision::Kind::kUnicast, .port = *out};
    }
    return ForwardDecision{.kind = ForwardDecision::Kind::kFlood};
}

}  // namespace hvmm::vmnet
