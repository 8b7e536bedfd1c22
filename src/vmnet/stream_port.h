// A switch port on one accepted stream connection speaking QEMU's `-netdev stream` framing
// (net/stream_framing.h): an hvmm VM (`net=switch:NAME`), a QEMU VM, or passt.
//
// Sending never blocks: a frame is written at once while nothing is queued, else appended to a
// bounded send queue (tail drop when full), and the port asks its host to watch for EPOLLOUT
// until the queue drains. So a stopped VM costs its own frames, never the other ports' progress.
//
// Receiving reads at most kMaxReadsPerEvent buffers per event (the fd stays readable and epoll
// comes back), so one busy peer cannot starve the others. A length of 0 or above max_frame is
// garbage with no way to resynchronise: counted, and the port asks to be closed. A peer that
// closes mid-frame is counted as truncated.
//
// Single-threaded (the daemon's loop). Owns the connection's fd.
#pragma once

#include <string>

#include "base/unique_fd.h"
#include "net/stream_framing.h"
#include "net/stream_send_queue.h"
#include "vmnet/switch_port.h"

namespace hvmm::vmnet {

struct StreamPortLimits {
    size_t max_frame = net::kMaxFrameSize;  // above this the framing is garbage
    size_t send_queue_bytes = net::StreamSendQueue::kDefaultCapacity;
};

class StreamPort final : public SwitchPort {
  public:
    static constexpr int kMaxReadsPerEvent = 4;

    // connection: a connected, non-blocking stream socket. peer: who it is, for the status.
    StreamPort(PortId id, UniqueFd connection, PortHost& host, std::string peer,
               StreamPortLimits limits = {});

    std::string_view kind() const override { return "stream"; }
    std::string peer() const override { return peer_; }
    void send(std::span<const uint8_t> frame) override;
    int fd() const override { return connection_.get(); }
    void handle_events(uint32_t events) override;
    PortCounters counters() const override { return counters_; }
    size_t queued_bytes() const override { return queue_.size(); }

  private:
    void receive();
    void flush();
    void fail(std::string_view why);

    PortId id_;
    UniqueFd connection_;
    PortHost& host_;
    std::string peer_;
    net::StreamDecoder decoder_;
    net::StreamSendQueue queue_;
    PortCounters counters_;
    bool failed_ = false;  // asked to be closed: nothing more is read or written
};

// "pid 1234 (qemu-system-x86)" from SO_PEERCRED, or "unknown peer".
std::string describe_unix_peer(int fd);

}  // namespace hvmm::vmnet
