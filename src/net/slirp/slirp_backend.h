// The user-mode (NAT) network, QEMU's `-netdev user`, VMware's VMnet8: a TCP/IP stack in the
// VMM (Debian's libslirp) that gives the guest DHCP, DNS and a gateway and turns the guest's
// connections into ordinary sockets of this process. No root, no TAP, no bridge.
//
// Driven by hvmm's I/O-thread event loop, with no thread of its own and no ticking while idle
// (libslirp's own idle timer is its IPv6 router advertisement, every 200-600 s with ipv6=on):
// receive_fd() is an epoll fd the backend owns holding
//   - the sockets libslirp wants watched, each with the events it wants now (kept in step with
//     slirp_pollfds_fill after every round),
//   - a timerfd armed to the earliest of libslirp's timers and its TCP/IP timeout, and
//   - an eventfd: frames are waiting for the guest, or a guest frame changed what libslirp waits
//     for (a new connection, a delayed ACK, output waiting for ARP).
// poll_receive() runs one libslirp round (fill, a zero-timeout poll(), slirp_pollfds_poll, the
// expired timers), re-syncs the epoll interest and the timerfd, then hands queued frames to the
// sink while it can receive.
//
// Threads: send() runs on a vCPU thread (or the I/O thread with send combining) while the I/O
// thread may be in poll_receive(). libslirp is not thread-safe and keeps process-wide state (its
// clock, the host's DNS address), so every libslirp call of every SlirpBackend is made under one
// process-wide lock. That lock is never held while calling the sink: libslirp's replies made
// inside send() are queued (bounded, tail drop counted) and delivered by poll_receive().
#pragma once

#include <sys/poll.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/event_fd.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "net/backend_counters.h"
#include "net/frame_limits.h"
#include "net/mac_address.h"
#include "net/net_backend.h"
#include "net/slirp/guest_frame_queue.h"
#include "net/slirp/slirp_timers.h"
#include "net/user_net_config.h"

namespace hvmm {

struct SlirpBackendLimits {
    // Frames waiting for the guest: a TCP window's worth of full frames and then some. libslirp
    // bounds TCP by the guest's window; this bound is for UDP floods and a NIC without buffers.
    size_t queued_frames = 512;
    size_t queued_bytes = size_t{1} << 20;
};

// Everything SlirpBackend counts beyond the totals in NetBackendStats (which include these
// drops: rx_dropped is the sum of the rx_ causes, tx_dropped of the tx_ ones).
struct SlirpBackendStats {
    NetBackendStats totals;
    uint64_t rx_queue_full = 0;  // libslirp made a frame while the queue to the guest was full
    uint64_t rx_no_sink = 0;     // made before a NIC was attached
    uint64_t tx_oversize = 0;    // a guest frame above net::kMaxFrameSize (never given to libslirp)
    uint64_t tx_runts = 0;       // a guest frame shorter than an Ethernet header
    uint64_t guest_errors = 0;   // libslirp's guest_error reports (a misbehaving guest)
};

class SlirpBackend final : public NetBackend {
  public:
    // Starts libslirp for `config` (checked again with check_user_net_config) and sets up every
    // forward; a forward that cannot bind fails the whole open with a line naming it. libslirp
    // learns the guest's MAC from its frames; guest_mac only names the NIC in the log.
    static Result<std::unique_ptr<SlirpBackend>> open(const net::UserNetConfig& config,
                                                      const MacAddress& guest_mac,
                                                      SlirpBackendLimits limits = {});
    // The same for a network several guests share (a switch's NAT port): `user` names it in the
    // log ("switch lan").
    static Result<std::unique_ptr<SlirpBackend>> open(const net::UserNetConfig& config,
                                                      std::string_view user,
                                                      SlirpBackendLimits limits = {});
    ~SlirpBackend() override;

    using NetBackend::send;
    void send(std::span<const iovec> frame) override;
    void set_sink(FrameSink* sink) override;
    int receive_fd() const override { return epoll_.get(); }
    size_t poll_receive() override;
    // libslirp is always there: the guest's link never goes down.
    bool link_up() const override { return true; }
    std::string_view describe() const override { return description_; }
    NetBackendStats stats() const override { return counters_.snapshot(); }
    SlirpBackendStats slirp_stats() const;
    std::vector<NamedCount> named_counts() const override;

  private:
    // What an event in the backend's epoll is about.
    enum class Source : uint32_t { kWake, kTimer, kSocket };
    struct Detail {
        std::atomic<uint64_t> rx_queue_full{0};
        std::atomic<uint64_t> rx_no_sink{0};
        std::atomic<uint64_t> tx_oversize{0};
        std::atomic<uint64_t> tx_runts{0};
        std::atomic<uint64_t> guest_errors{0};
    };
    static void bump(std::atomic<uint64_t>& counter) {
        counter.fetch_add(1, std::memory_order_relaxed);
    }

    SlirpBackend(const net::UserNetConfig& config, SlirpBackendLimits limits, UniqueFd epoll,
                 UniqueFd timer, EventFd wake);
    static std::mutex& libslirp_mutex();
    Result<void> watch(int fd, Source source, uint32_t events);
    Result<void> add_forwards(const net::UserNetConfig& config);
    void request_poll();

    // libslirp's callbacks (opaque = this); all run under the libslirp lock.
    static ssize_t on_send_packet(const void* buffer, size_t length, void* opaque);
    static void on_guest_error(const char* message, void* opaque);
    static int64_t on_clock_get_ns(void* opaque);
    static void* on_timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque);
    static void on_timer_free(void* timer, void* opaque);
    static void on_timer_mod(void* timer, int64_t expire_ms, void* opaque);
    static void on_register_poll_fd(int fd, void* opaque);
    static void on_unregister_poll_fd(int fd, void* opaque);
    static void on_notify(void* opaque);
    static int on_add_poll(int fd, int events, void* opaque);
    static int on_get_revents(int index, void* opaque);
    static const SlirpCb kCallbacks;

    // With the libslirp lock held.
    void service_slirp_locked();
    void fill_locked(uint32_t& timeout_ms);
    void sync_interest_locked();
    void forget_fd_locked(int fd);
    void arm_timer_locked(uint32_t slirp_timeout_ms);

    size_t deliver_queued();
    bool deliver(std::span<const uint8_t> frame);

    const std::string description_;
    UniqueFd epoll_;
    UniqueFd timer_;
    EventFd wake_;
    std::atomic<bool> poll_requested_{false};  // wake_ signalled and not yet consumed

    // Guarded by the process-wide libslirp lock.
    Slirp* slirp_ = nullptr;
    net::SlirpTimers timers_;
    net::GuestFrameQueue queue_;
    std::vector<pollfd> pollfds_;      // the round's slirp_pollfds_fill
    std::map<int, uint32_t> watched_;  // each libslirp socket in epoll_ and its events
    int64_t armed_deadline_ns_ = 0;    // the timerfd's absolute deadline; 0: disarmed
    std::vector<uint8_t> gather_;      // a multi-part guest frame made contiguous

    std::mutex io_mutex_;  // serialises poll_receive() and set_sink()
    FrameSink* sink_ = nullptr;

    BackendCounters counters_;
    Detail detail_;
    log::RateLimitedWarning guest_error_warning_;
};

}  // namespace hvmm
