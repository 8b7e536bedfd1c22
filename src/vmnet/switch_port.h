// A port of `hvmm switch`: something frames come in from and go out to. The daemon does not
// care what is behind a port (a VM's stream connection, the DHCP server, a TAP uplink, the NAT);
// each kind is one class implementing SwitchPort, and talks back to the daemon only through
// PortHost. So the NAT port (nat_port.h) is one more class, not a change to the forwarding code.
//
// Single-threaded: the daemon's one event-loop thread calls everything here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "vmnet/mac_table.h"

namespace hvmm::vmnet {

// What a port counts itself, beyond what the fabric counts for it (frames in, by decision).
struct PortCounters {
    uint64_t tx_frames = 0;  // frames accepted for sending to the peer (sent or queued)
    uint64_t tx_bytes = 0;
    uint64_t tx_queue_full = 0;  // tail drops: the peer did not keep up
    uint64_t tx_failed = 0;      // the peer's socket failed; the port is closing
    uint64_t rx_bad_length = 0;  // framing lengths of 0 or above the largest frame (disconnects)
    uint64_t rx_truncated = 0;   // the peer closed mid-frame

    PortCounters& operator+=(const PortCounters& other) {
        tx_frames += other.tx_frames;
        tx_bytes += other.tx_bytes;
        tx_queue_full += other.tx_queue_full;
        tx_failed += other.tx_failed;
        rx_bad_length += other.rx_bad_length;
        rx_truncated += other.rx_truncated;
        return *this;
    }
};

// The daemon, as a port sees it.
class PortHost {
  public:
    virtual ~PortHost() = default;
    // A frame arrived on `port`; the host forwards it, calling other ports' send(). A port may
    // also call this from inside its own send() (the DHCP port's reply): the host then queues
    // the frame (bounded) and forwards it once the frame in hand is done, so forwarding never
    // recurses.
    virtual void ingress(PortId port, std::span<const uint8_t> frame) = 0;
    // The port has bytes queued (true) or none left (false): watch its fd for EPOLLOUT.
    virtual void want_writable(PortId port, bool on) = 0;
    // The port is finished (peer gone, garbage, a failed write). Takes effect after the current
    // callback, so a port may ask for its own removal from inside its own methods.
    virtual void close_port(PortId port, std::string_view why) = 0;
};

class SwitchPort {
  public:
    virtual ~SwitchPort() = default;

    // "stream", "dhcp", "tap", "nat"
    virtual std::string_view kind() const = 0;
    // Who is on the other side, for `hvmm switch status`.
    virtual std::string peer() const = 0;
    // A frame the fabric forwarded here. Never blocks: a peer that cannot take it now has it
    // queued (bounded) or dropped and counted.
    virtual void send(std::span<const uint8_t> frame) = 0;
    // The fd the daemon watches for this port (-1: the port has none, e.g. DHCP).
    virtual int fd() const = 0;
    // The watched fd reported these epoll events.
    virtual void handle_events(uint32_t events) = 0;
    virtual PortCounters counters() const = 0;
    // Bytes waiting to be sent: shows a slow peer in the status.
    virtual size_t queued_bytes() const { return 0; }
    // Once a second, from the daemon's housekeeping timer: for work a port batches.
    virtual void tick() {}
    // Anything else worth showing about this port kind (may be null).
    virtual nlohmann::json details() const { return nullptr; }
};

}  // namespace hvmm::vmnet
