#include "vmnet/tap_port.h"

#include <net/if.h>

#include <fmt/core.h>

namespace hvmm::vmnet {

Result<std::unique_ptr<TapPort>> TapPort::open(PortId id, PortHost& host, std::string_view name) {
    const std::string owned(name);
    if (owned.empty() || ::if_nametoindex(owned.c_str()) == 0) {
        return fail(
            "--uplink tap:{}: no such interface (create it first, e.g. `ip tuntap add {} mode "
            "tap user $USER`)",
            name, name);
    }
    auto backend = TapBackend::open(name);
    if (!backend) {
        return fail("--uplink tap:{}: {}", name, backend.error().message);
    }
    return std::unique_ptr<TapPort>(new TapPort(id, host, std::move(*backend)));
}

TapPort::TapPort(PortId id, PortHost& host, std::unique_ptr<TapBackend> backend)
    : id_(id), host_(host), backend_(std::move(backend)) {
    backend_->set_sink(this);
}

std::string TapPort::peer() const {
    return fmt::format("TAP {}", backend_->interface_name());
}

void TapPort::send(std::span<const uint8_t> frame) {
    backend_->send(frame);
}

void TapPort::handle_events(uint32_t) {
    backend_->poll_receive();
}

PortCounters TapPort::counters() const {
    const NetBackendStats stats = backend_->stats();
    PortCounters counters;
    counters.tx_frames = stats.tx_frames;
    counters.tx_bytes = stats.tx_bytes;
    counters.tx_failed = stats.tx_dropped;
    return counters;
}

}  // namespace hvmm::vmnet
