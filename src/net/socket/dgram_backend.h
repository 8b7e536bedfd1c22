// A backend over Unix datagram sockets in QEMU's `-netdev dgram` way (net=dgram:LOCAL,REMOTE):
// bound at LOCAL, each frame sent to REMOTE as one datagram, each datagram received one frame.
// Datagrams carry their own boundaries, so there is no framing and no connection: the link is
// always up, and a peer that is not there (ECONNREFUSED, ENOENT) or not keeping up (EAGAIN)
// costs the frame, counted, as a cable to a switched-off host would. Datagrams from anyone who
// can reach LOCAL are taken, as QEMU takes them; the socket's directory is the access control.
//
// Threads: send() on whichever thread sends (a vCPU, or the I/O thread); poll_receive() on the
// I/O thread (or a vCPU thread in the baseline's exit poller, serialised by the wiring). A
// datagram socket may be written and read at once from two threads, so nothing is locked.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/unique_fd.h"
#include "net/backend_counters.h"
#include "net/frame_limits.h"
#include "net/net_backend.h"
#include "net/socket/unix_socket_path.h"

namespace hvmm {

// Beyond the totals in NetBackendStats, which include these drops.
struct DgramBackendStats {
    NetBackendStats totals;
    uint64_t rx_oversize = 0;     // longer than max_frame (MSG_TRUNC told us)
    uint64_t rx_zero_length = 0;  // an empty datagram
    uint64_t rx_runts = 0;        // shorter than an Ethernet header
    uint64_t rx_no_sink = 0;      // arrived before a NIC was attached
    uint64_t tx_no_peer = 0;      // nobody bound at REMOTE
    uint64_t tx_peer_busy = 0;    // REMOTE's queue was full
    uint64_t tx_invalid = 0;      // length 0 or above max_frame
    uint64_t tx_errors = 0;       // any other failure
};

class DgramBackend final : public NetBackend {
  public:
    // Binds LOCAL (a stale socket file there is replaced; a live one, or a file that is not a
    // socket, is refused) and sends to REMOTE, which need not exist yet but must not be a file
    // of another kind. LOCAL's socket file is removed when the backend is destroyed.
    static Result<std::unique_ptr<DgramBackend>> open(std::string_view local,
                                                      std::string_view remote,
                                                      size_t max_frame = net::kMaxFrameSize);
    ~DgramBackend() override;

    using NetBackend::send;
    void send(std::span<const iovec> frame) override;
    void set_sink(FrameSink* sink) override { sink_ = sink; }
    int receive_fd() const override { return socket_.get(); }
    size_t poll_receive() override;
    bool link_up() const override { return true; }
    std::string_view describe() const override { return description_; }
    NetBackendStats stats() const override { return counters_.snapshot(); }
    DgramBackendStats dgram_stats() const;
    // The totals and every counter of DgramBackendStats, under its field names.
    std::vector<NamedCount> named_counts() const override;

  private:
    struct Detail;
    DgramBackend(UniqueFd socket, net::BoundSocketPath bound, net::UnixAddress remote,
                 size_t max_frame, std::string description);

    UniqueFd socket_;
    net::BoundSocketPath bound_;
    net::UnixAddress remote_;
    size_t max_frame_;
    std::string description_;
    FrameSink* sink_ = nullptr;
    std::vector<uint8_t> buffer_;  // max_frame bytes: one more would only be thrown away
    BackendCounters counters_;
    std::unique_ptr<Detail> detail_;
    log::RateLimitedWarning no_peer_warning_;
    log::RateLimitedWarning error_warning_;
};

}  // namespace hvmm
