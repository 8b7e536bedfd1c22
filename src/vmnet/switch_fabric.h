// The learning switch's forwarding decision: a frame in from a port, and where it goes (one
// port, every other port, or nowhere, with the reason counted). The daemon owns the sockets and
// the per-port send queues (net/stream_send_queue.h) and delivers what this decides.
//
// Single-threaded: the switch's forwarding thread owns it. Time is passed in, as for MacTable.
// Frames are judged before anything is learned from them:
// - shorter than an Ethernet header: a runt (peers such as QEMU send unpadded frames, so the
//   802.3 minimum of 60 bytes is not required);
// - longer than max_frame: oversize;
// - a group (multicast/broadcast) or all-zero source: no station sends those; dropped, and
//   never learned;
// - a destination learned on the port the frame came from: filtered (802.1D never sends a frame
//   back where it came from).
// Group and unknown destinations flood. Port ids are never reused, so a frame or table entry
// that outlives its port cannot reach a newcomer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "net/frame_limits.h"
#include "vmnet/mac_table.h"

namespace hvmm::vmnet {

enum class SwitchDrop : uint8_t {
    kUnknownPort,
    kRunt,
    kOversize,
    kGroupSource,
    kZeroSource,
    kSamePort,
};
inline constexpr size_t kSwitchDropReasons = static_cast<size_t>(SwitchDrop::kSamePort) + 1;

struct ForwardDecision {
    enum class Kind : uint8_t { kUnicast, kFlood, kDrop };
    Kind kind = Kind::kDrop;
    PortId port = 0;                               // kUnicast: the one port
    SwitchDrop reason = SwitchDrop::kUnknownPort;  // kDrop: why
};

struct SwitchPortStats {
    uint64_t rx_frames = 0;  // frames that came in on this port and were forwarded
    uint64_t rx_bytes = 0;
    uint64_t unicast = 0;
    uint64_t flooded = 0;
    std::array<uint64_t, kSwitchDropReasons> dropped{};

    uint64_t drops(SwitchDrop reason) const { return dropped[static_cast<size_t>(reason)]; }
};

class SwitchFabric {
  public:
    explicit SwitchFabric(MacTableConfig mac_table = {}, size_t max_frame = net::kMaxFrameSize);

    PortId add_port();
    // The port and every address learned on it go; false if there was no such port.
    bool remove_port(PortId port);
    bool has_port(PortId port) const { return ports_.contains(port); }
    // Every port, ascending: a flood goes to each of these but the one it came in on.
    std::vector<PortId> ports() const;

    ForwardDecision forward(PortId in, std::span<const uint8_t> frame, TimePoint now);

    // Stats of a port (zeros for an unknown one); totals over every port, past ones included.
    SwitchPortStats port_stats(PortId port) const;
    const SwitchPortStats& totals() const { return totals_; }
    MacTable& mac_table() { return mac_table_; }
    const MacTable& mac_table() const { return mac_table_; }

  private:
    ForwardDecision drop(SwitchPortStats* port, SwitchDrop reason);

    MacTable mac_table_;
    size_t max_frame_;
    PortId next_port_ = 1;
    std::unordered_map<PortId, SwitchPortStats> ports_;
    SwitchPortStats totals_;
};

}  // namespace hvmm::vmnet
