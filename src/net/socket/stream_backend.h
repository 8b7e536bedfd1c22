// A backend over a Unix stream socket in QEMU's `-netdev stream` framing (a 4-byte big-endian
// length before each frame; net/stream_framing.h): the peer is a QEMU VM, passt, or hvmm's
// switch. As a client (`net=stream:PATH`) it connects to PATH and, when reconnect is set, tries
// again every period while the link is down; as a listener (`net=stream-listen:PATH`) it binds
// PATH and takes one peer at a time (a second one is closed at once and counted). The guest's
// link is up exactly while a peer is connected.
//
// Threads: send() runs on whichever thread sends (a vCPU, or the I/O thread with send
// combining); poll_receive() and refresh_link() on the I/O thread (poll_receive also on a vCPU
// thread in the baseline's exit poller, which the wiring serialises). Both sides may run at
// once: the socket, the send queue and the epoll interest are guarded by one mutex that is never
// held while calling the sink, so a NIC that sends under its own lock cannot deadlock against a
// receive. The sink hears link changes only from poll_receive()/refresh_link().
//
// receive_fd() is an epoll fd of the backend's own, fixed for its life, watching the connection,
// the listening socket, the reconnect timer and a wake-up eventfd. The wiring captures one fd
// per backend, while the connection comes and goes; the nested epoll lets it stay as it is.
//
// Memory is bounded whatever the peer does: one decoder buffer (one largest frame and its
// prefix) and one send queue with tail drop. While the sink is full the connection is not read
// (and not watched), so the peer is held back by the socket's own buffers, and a peer that
// closes meanwhile does not make the loop spin (its close is seen once the sink has room, or
// when a new peer arrives at the listener). A length of 0 or above max_frame, or a close
// mid-frame, drops the frame, counts it by cause and closes the connection (link down).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "base/event_fd.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "net/backend_counters.h"
#include "net/net_backend.h"
#include "net/socket/unix_socket_path.h"
#include "net/stream_framing.h"
#include "net/stream_send_queue.h"

namespace hvmm {

struct StreamBackendLimits {
    size_t max_frame = net::kMaxFrameSize;
    size_t send_queue_bytes = net::StreamSendQueue::kDefaultCapacity;
};

// Everything StreamBackend counts, beyond the totals in NetBackendStats (which include these
// drops: rx_dropped is the sum of the rx_ causes, tx_dropped of the tx_ frame counts).
struct StreamBackendStats {
    NetBackendStats totals;
    uint64_t rx_zero_length = 0;   // a length prefix of 0 (connection closed)
    uint64_t rx_oversize = 0;      // a length above max_frame (connection closed)
    uint64_t rx_truncated = 0;     // the peer closed mid-frame
    uint64_t rx_runts = 0;         // shorter than an Ethernet header (connection kept)
    uint64_t rx_no_sink = 0;       // arrived before a NIC was attached
    uint64_t tx_queue_full = 0;    // the peer did not keep up and the send queue was full
    uint64_t tx_peer_gone = 0;     // sent while no peer was connected
    uint64_t tx_invalid = 0;       // length 0 or above max_frame (never put on the wire)
    uint64_t tx_unsent_bytes = 0;  // queued bytes (not frames) lost when a connection ended
    uint64_t connects = 0;
    uint64_t disconnects = 0;
    uint64_t refused_peers = 0;     // listener: a second peer while one was connected
    uint64_t connect_failures = 0;  // client: attempts that found no listener
};

class StreamBackend final : public NetBackend {
  public:
    // Client. A path that is not a socket is refused. Without reconnect (zero) the first
    // connection must succeed or this fails; with it, a missing peer leaves the link down and
    // the backend tries again every period, as it does after any disconnect.
    static Result<std::unique_ptr<StreamBackend>> connect(std::string_view path,
                                                          std::chrono::milliseconds reconnect = {},
                                                          StreamBackendLimits limits = {});
    // Listener. A stale socket file left at path is replaced; a live one, or anything that is
    // not a socket, is refused. The socket file is removed when the backend is destroyed.
    static Result<std::unique_ptr<StreamBackend>> listen(std::string_view path,
                                                         StreamBackendLimits limits = {});

    using NetBackend::send;
    void send(std::span<const iovec> frame) override;
    // A new sink assumes the link is up; it hears otherwise at the next poll_receive(), which
    // the wake-up eventfd brings about promptly.
    void set_sink(FrameSink* sink) override;
    int receive_fd() const override { return epoll_.get(); }
    // Services the connection, listener and timer, then delivers frames while the sink can take
    // them (at most kMaxFramesPerPoll; the fd stays readable if more are held).
    size_t poll_receive() override;
    bool link_up() const override { return link_up_.load(std::memory_order_relaxed); }
    void refresh_link() override;
    std::string_view describe() const override { return description_; }
    NetBackendStats stats() const override { return counters_.snapshot(); }
    StreamBackendStats stream_stats() const;
    // The totals and every counter of StreamBackendStats, under its field names.
    std::vector<NamedCount> named_counts() const override;
    // Reading stops while the sink is full, and the connection is watched for EPOLLOUT while
    // the send queue holds bytes: the fd is quiet when idle and wakes when a full socket drains.
    bool receive_fd_pauses_itself() const override { return true; }
    // Bytes waiting in the send queue for the socket to take them (0 once flushed).
    size_t queued_bytes() const;

  private:
    enum class Role : uint8_t { kClient, kListener };
    enum class Source : uint32_t { kWake, kListen, kTimer, kConnection };
    // The per-cause counters: written by either side, read by anyone.
    struct Detail {
        std::atomic<uint64_t> rx_zero_length{0};
        std::atomic<uint64_t> rx_oversize{0};
        std::atomic<uint64_t> rx_truncated{0};
        std::atomic<uint64_t> rx_runts{0};
        std::atomic<uint64_t> rx_no_sink{0};
        std::atomic<uint64_t> tx_queue_full{0};
        std::atomic<uint64_t> tx_peer_gone{0};
        std::atomic<uint64_t> tx_invalid{0};
        std::atomic<uint64_t> tx_unsent_bytes{0};
        std::atomic<uint64_t> connects{0};
        std::atomic<uint64_t> disconnects{0};
        std::atomic<uint64_t> refused_peers{0};
        std::atomic<uint64_t> connect_failures{0};
    };
    static void bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
        counter.fetch_add(n, std::memory_order_relaxed);
    }

    static Result<std::unique_ptr<StreamBackend>> create(Role role, std::string_view path,
                                                         std::chrono::milliseconds reconnect,
                                                         StreamBackendLimits limits);
    StreamBackend(Role role, std::string path, std::chrono::milliseconds reconnect,
                  StreamBackendLimits limits, UniqueFd epoll, EventFd wake);
    Result<void> watch(int fd, Source source, uint32_t events);

    // Client: one non-blocking connection attempt; false when nobody answered.
    Result<bool> try_connect();
    void accept_peers();
    void established(UniqueFd connection);
    void disconnect(std::string_view why);
    void arm_reconnect(bool on);
    size_t receive_frames();
    bool deliver(std::span<const uint8_t> frame);
    void pause_receive(bool paused);
    void report_link();

    // With mutex_ held.
    void flush_locked();
    void note_peer_gone_locked();
    void update_interest_locked();

    const Role role_;
    const std::string path_;
    const std::chrono::milliseconds reconnect_;
    const StreamBackendLimits limits_;
    std::string description_;

    UniqueFd epoll_;
    EventFd wake_;
    UniqueFd listen_;  // listener only
    net::BoundSocketPath bound_;
    UniqueFd timer_;              // client only: the reconnect timerfd
    bool listen_paused_ = false;  // listener: out of fds; watched again at the next refresh_link()
    int last_connect_error_ = 0;

    mutable std::mutex mutex_;  // guards connection_ (its replacement), queue_, the interest below
    UniqueFd connection_;
    net::StreamSendQueue queue_;
    bool rx_paused_ = false;       // the sink refused: do not read or watch for input
    uint32_t watched_events_ = 0;  // the connection's epoll interest (0: not registered)
    std::atomic<bool> link_up_{false};
    std::atomic<bool> peer_gone_{false};  // send() saw EPIPE/ECONNRESET; the I/O side closes

    std::mutex io_mutex_;  // serialises poll_receive() and refresh_link()
    FrameSink* sink_ = nullptr;
    bool reported_link_up_ = true;  // what sink_ was last told (or assumes)
    net::StreamDecoder decoder_;

    BackendCounters counters_;
    Detail detail_;
    // Per backend, so one hostile peer does not silence another backend's warnings.
    log::RateLimitedWarning peer_warning_;
    log::RateLimitedWarning refused_warning_;  // apart, so a connect flood hides no disconnect
    log::RateLimitedWarning send_warning_;
};

}  // namespace hvmm
