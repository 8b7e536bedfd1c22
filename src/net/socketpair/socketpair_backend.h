// A backend over an AF_UNIX SOCK_SEQPACKET pair: one end is the backend, the other a peer a
// test (or another process) uses to exchange frames with the NIC. Each message is one frame,
// so frame boundaries survive without any framing of our own.
#pragma once

#include <memory>
#include <vector>

#include "base/unique_fd.h"
#include "net/backend_counters.h"
#include "net/net_backend.h"

namespace hvmm {

class SocketpairBackend final : public NetBackend {
  public:
    static Result<std::unique_ptr<SocketpairBackend>> create();

    // The other end. take_peer() hands it over (then peer_fd() is -1).
    int peer_fd() const { return peer_.get(); }
    UniqueFd take_peer() { return std::move(peer_); }

    using NetBackend::send;
    void send(std::span<const iovec> frame) override;
    // A new sink assumes the link is up; it hears otherwise at the next poll or refresh.
    void set_sink(FrameSink* sink) override {
        sink_ = sink;
        reported_link_up_ = true;
    }
    int receive_fd() const override { return socket_.get(); }
    size_t poll_receive() override;
    bool link_up() const override { return link_up_.load(std::memory_order_relaxed); }
    void refresh_link() override;
    std::string_view describe() const override { return "socketpair"; }
    NetBackendStats stats() const override { return counters_.snapshot(); }

  private:
    SocketpairBackend(UniqueFd socket, UniqueFd peer);
    bool peer_hung_up() const;
    void mark_peer_gone();

    UniqueFd socket_;
    UniqueFd peer_;
    FrameSink* sink_ = nullptr;
    std::vector<uint8_t> buffer_;
    // Written by send() on a vCPU thread when the peer is gone; the sink hears of it from the
    // I/O thread only (refresh_link/poll_receive), never from inside send(), so a NIC holding
    // its own lock while sending is never called back.
    std::atomic<bool> link_up_{true};
    bool retired_ = false;          // socket_ replaced by an inert fd once the peer is gone
    bool reported_link_up_ = true;  // what sink_ was last told (or assumes)
    BackendCounters counters_;
};

}  // namespace hvmm
