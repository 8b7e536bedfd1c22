// Fuzz target for the learning switch's forwarding and MAC table: the input is a script of ports
// joining and leaving, frames from input-chosen ports with input-chosen addresses (a few stations
// that recur, and random ones as a MAC flood would send), clock steps and sweeps. After every
// step the table must be within its bounds and agree with itself, and every unicast decision
// must name a live port other than the one the frame came from.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "vmnet/switch_fabric.h"
#include "fuzz_input.h"

namespace {

using hvmm::fuzz::FuzzInput;

using hvmm::MacAddress;
using hvmm::vmnet::ForwardDecision;
using hvmm::vmnet::PortId;
using hvmm::vmnet::SwitchFabric;
using hvmm::vmnet::TimePoint;

using hvmm::fuzz::check;

MacAddress address(FuzzInput& in) {
    const uint8_t kind = in.byte();
    if (kind < 160) {
        return MacAddress{{0x52, 0x54, 0, 0, 0, uint8_t(kind % 12)}};  // recurring stations
    }
    MacAddress mac{};
    for (auto& b : mac.bytes) b = in.byte();  // anything, group and zero addresses included
    return mac;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzInput in(data, size);
    const hvmm::vmnet::MacTableConfig config{.capacity = 1 + size_t{in.byte()} % 40,
                                             .per_port_cap = 1 + size_t{in.byte()} % 16,
                                             .max_age = std::chrono::seconds(1 + in.byte() % 30)};
    SwitchFabric fabric(config, 1514);
    std::vector<PortId> ports;
    TimePoint now{};
    for (int step = 0; step < 400 && !in.empty(); ++step) {
        const uint8_t op = in.byte();
        switch (op % 8) {
            case 0:
                if (ports.size() < 12)
                    ports.push_back(fabric.add_port());
                break;
            case 1:
                if (!ports.empty()) {
                    const size_t i = in.byte() % ports.size();
                    check(fabric.remove_port(ports[i]), "a live port could not be removed");
                    check(fabric.mac_table().port_size(ports[i]) == 0, "removed port kept entries");
                    ports.erase(ports.begin() + static_cast<std::ptrdiff_t>(i));
                }
                break;
            case 2:
                now += std::chrono::seconds(in.byte() % 8);
                break;
            case 3:
                fabric.mac_table().expire(now);
                break;
            default: {
                // A port id that may be stale or never existed, some of the time.
                const PortId in_port = (ports.empty() || (op & 0x80))
                                           ? PortId{in.byte()}
                                           : ports[in.byte() % ports.size()];
                const MacAddress destination = address(in);
                const MacAddress source = address(in);
                const size_t length = (op & 0x40) ? in.byte() * 8 : 60;
                std::vector<uint8_t> frame(length, 0);
                for (size_t i = 0; i < 6 && i < length; ++i) frame[i] = destination.bytes[i];
                for (size_t i = 0; i < 6 && 6 + i < length; ++i) frame[6 + i] = source.bytes[i];
                const ForwardDecision d = fabric.forward(in_port, frame, now);
                if (d.kind == ForwardDecision::Kind::kUnicast) {
                    check(fabric.has_port(d.port), "unicast to a port that is gone");
                    check(d.port != in_port, "unicast back to the sending port");
                }
                break;
            }
        }
        const auto& table = fabric.mac_table();
        check(table.size() <= table.config().capacity, "table above capacity");
        size_t total = 0;
        for (const PortId port : fabric.ports()) {
            check(table.port_size(port) <= table.config().per_port_cap, "port above its cap");
            total += table.port_size(port);
        }
        check(total == table.size(), "per-port lists and the table disagree");
        for (const auto& entry : table.entries(now)) {
            check(hvmm::net::is_unicast_station(entry.mac), "a group or zero address learned");
            check(fabric.has_port(entry.port), "an entry on a port that is gone");
        }
    }
    return 0;
}
