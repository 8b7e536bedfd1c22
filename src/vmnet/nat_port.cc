#include "vmnet/nat_port.h"

#include <algorithm>

#include <fmt/core.h>

#include "net/frame_limits.h"

namespace hvmm::vmnet {

net::UserNetConfig switch_nat_config(net::Ipv4Address network,
                                     std::vector<net::HostForward> forwards) {
    net::UserNetConfig config;
    config.network = net::Ipv4Subnet{network, 24};
    config.dhcp = false;
    config.dns_at_gateway = true;
    config.forwards = std::move(forwards);
    return config;
}

Result<std::unique_ptr<NatPort>> NatPort::open(PortId id, PortHost& host,
                                               const net::UserNetConfig& config,
                                               std::string_view switch_name) {
    auto backend = HVMM_TRY(SlirpBackend::open(config, fmt::format("switch {}", switch_name)));
    return std::unique_ptr<NatPort>(new NatPort(id, host, config, std::move(backend)));
}

NatPort::NatPort(PortId id, PortHost& host, net::UserNetConfig config,
                 std::unique_ptr<SlirpBackend> backend)
    : id_(id), host_(host), config_(std::move(config)), backend_(std::move(backend)) {
    backend_->set_sink(this);
}

std::string NatPort::peer() const {
    std::string text = fmt::format("NAT gateway {}", net::to_string(config_.gateway()));
    if (libslirp_mac_) {
        text += fmt::format(" ({})", net::to_string(*libslirp_mac_));
    }
    return text;
}

void NatPort::receive(std::span<const uint8_t> frame) {
    if (!libslirp_mac_ && frame.size() >= net::kEthernetHeaderSize) {
        MacAddress source{};
        std::copy_n(frame.begin() + 6, source.bytes.size(), source.bytes.begin());
        libslirp_mac_ = source;
    }
    host_.ingress(id_, frame);
}

PortCounters NatPort::counters() const {
    const NetBackendStats stats = backend_->stats();
    PortCounters counters;
    counters.tx_frames = stats.tx_frames;
    counters.tx_bytes = stats.tx_bytes;
    return counters;
}

nlohmann::json NatPort::details() const {
    nlohmann::json forwards = nlohmann::json::array();
    for (const net::HostForward& forward : config_.forwards) {
        forwards.push_back(net::to_string(forward));
    }
    // libslirp's own counts: frames each way, and its drops by cause (a full queue towards the
    // switch, frames it could not take, what it called the guests' errors).
    nlohmann::json counts = nlohmann::json::object();
    for (const NamedCount& count : backend_->named_counts()) {
        counts[std::string(count.name)] = count.value;
    }
    return {{"network", net::to_string(config_.network)},
            {"gateway", net::to_string(config_.gateway())},
            {"dns", net::to_string(config_.dns_address())},
            {"mac", libslirp_mac_ ? net::to_string(*libslirp_mac_) : ""},
            {"ipv6", config_.ipv6},
            {"forwards", std::move(forwards)},
            {"counters", std::move(counts)}};
}

}  // namespace hvmm::vmnet
