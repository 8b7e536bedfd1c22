// Between a virtual NIC and the outside: the NIC sends whole Ethernet frames to a NetBackend and
// receives frames through a FrameSink it registers, which says when it has room (back-pressure).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "net/net_offloads.h"

namespace hvmm {

class FrameSink {
public:
    virtual ~FrameSink() = default;
    // False while the NIC has no receive buffer: the backend keeps the frame (or stops reading
    // its fd) and tries again after the sink calls NetBackend::resume_receive().
    virtual bool can_receive() = 0;
    // One whole frame without FCS. The sink copies what it keeps before returning.
    virtual void receive(std::span<const uint8_t> frame) = 0;
    // The backend's link went up or down (TAP admin state, peer gone); a NIC shows it to the
    // guest as carrier. Called on the thread that polls the backend, never from inside send().
    // A sink starts out assuming the link is up: a backend whose link is down says so at its
    // next refresh_link() or poll_receive() after set_sink().
    virtual void link_changed(bool /*up*/) {}
};

struct NetBackendStats {
    uint64_t tx_frames = 0;
    uint64_t tx_bytes = 0;
    uint64_t tx_dropped = 0;
    uint64_t rx_frames = 0;
    uint64_t rx_bytes = 0;
    uint64_t rx_dropped = 0;
};

// One of a backend's counters under a stable name ("tx_frames", "rx_oversize"): --stats shows
// them as netN.NAME. The name is a string literal, the same at every call.
struct NamedCount {
    std::string_view name;
    uint64_t value = 0;
};

// The six totals under their field names, first in every backend's named_counts().
inline std::vector<NamedCount> named_totals(const NetBackendStats& stats) {
    return {{"tx_frames", stats.tx_frames}, {"tx_bytes", stats.tx_bytes},
            {"tx_dropped", stats.tx_dropped}, {"rx_frames", stats.rx_frames},
            {"rx_bytes", stats.rx_bytes},   {"rx_dropped", stats.rx_dropped}};
}

class NetBackend {
public:
    virtual ~NetBackend() = default;
    // Sends one frame given as a gather list. A host-side failure drops the frame and is counted,
    // never fatal to the VM.
    virtual void send(std::span<const iovec> frame) = 0;
    void send(std::span<const uint8_t> frame) {
        const iovec one{const_cast<uint8_t*>(frame.data()), frame.size()};
        send(std::span<const iovec>(&one, 1));
    }
    virtual void set_sink(FrameSink* sink) = 0;
    // The fd an event loop waits on for arriving frames (-1 if the backend pushes by itself).
    virtual int receive_fd() const = 0;
    // Reads what has arrived and hands it to the sink while it can receive; returns frames
    // delivered. Called by the I/O thread when receive_fd() is readable, or after a resume.
    virtual size_t poll_receive() = 0;
    virtual bool link_up() const = 0;
    // Re-reads the host side's link state and tells the sink if it changed. The VMM calls it
    // from a timer on the I/O thread; backends whose link cannot change need not override it.
    virtual void refresh_link() {}
    virtual std::string_view describe() const = 0;
    virtual NetBackendStats stats() const = 0;
    // Every counter the backend keeps: the totals of stats(), then its drops by cause and any
    // other events (connects, ...). The same names in the same order at every call, so a reader
    // may learn the names once. Any thread.
    virtual std::vector<NamedCount> named_counts() const { return named_totals(stats()); }
    // True when receive_fd() goes quiet by itself while the sink refuses frames, and also wakes
    // for work on the sending side (a full socket that drained): the event loop should then keep
    // watching it rather than pause its watch until the sink has room.
    virtual bool receive_fd_pauses_itself() const { return false; }

    // The virtio-net header (net_offloads.h): 0 when frames are plain Ethernet (every backend
    // but a TAP opened for it), or net::kVnetHeaderSize when every frame send() takes and every
    // frame the sink receives starts with a struct virtio_net_hdr_v1 (num_buffers included but
    // meaningless). Fixed from the backend's opening on. Any thread.
    virtual size_t vnet_header_size() const { return 0; }
    // Which offloads frames handed to the sink may carry from now on (a TAP: TUNSETOFFLOAD): a
    // NIC passes what its guest accepted, and none at reset. Only a backend with a vnet header
    // can; the others refuse. Called on a vCPU thread (the driver's activation or reset).
    virtual Result<void> set_receive_offloads(const net::NetOffloads& /*offloads*/) {
        return fail("{} carries no virtio-net header, so it takes no offloads", describe());
    }
};

}  // namespace hvmm
