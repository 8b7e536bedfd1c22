// Between a virtual NIC and the outside: the NIC sends whole Ethernet frames to a NetBackend and
// receives frames through a FrameSink it registers, which says when it has room (back-pressure).
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "base/error.h"

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
    // True when receive_fd() goes quiet by itself while the sink refuses frames, and also wakes
    // for work on the sending side (a full socket that drained): the event loop should then keep
    // watching it rather than pause its watch until the sink has room.
    virtual bool receive_fd_pauses_itself() const { return false; }
};

}  // namespace hvmm
