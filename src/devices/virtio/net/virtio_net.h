// A virtio-net device (VIRTIO 1.2, "Network Device"): one receive and one transmit queue and a
// control queue, in front of any NetBackend (TAP, user/slirp, stream, dgram, switch,
// socketpair). It knows nothing of PCI: a transport (virtio-pci) drives it through VirtioDevice
// and hands it the queues, one kick eventfd per queue and a VirtioInterrupt at DRIVER_OK.
//
// What it offers: MAC and link status in the configuration (a link change is a configuration
// change notification), MRG_RXBUF (a frame of up to 64 KiB spread over as many receive buffers
// as it needs), the control queue with receive modes (promiscuous, all-multicast and the
// CTRL_RX_EXTRA ones) and MAC filter tables and MAC_ADDR_SET, EVENT_IDX and indirect
// descriptors, MTU when one is configured, and notifications coalescing (NOTF_COAL: the driver
// sets how many frames or microseconds a used buffer notification may wait for, per direction;
// not with vhost, whose interrupts go from the kernel straight to KVM). The checksum and
// segmentation offloads (CSUM, GUEST_CSUM, HOST/GUEST_TSO4/6, ECN) are offered over a backend whose
// frames carry a vnet header (a TAP opened with it): the header then passes through both ways,
// checked (vnet_header.h), and the guest's GUEST_* choice becomes the backend's receive offloads.
// Over any other backend only CSUM is offered: the device completes a partial checksum itself (in a
// copy of the frame, the one transmit path that copies); it does not segment, so no TSO.
//
// Threads and locks:
// - The transport calls the VirtioDevice methods on a vCPU thread under its own lock.
// - The I/O thread runs the queues: the device watches each kick eventfd and the backend's
//   receive fd on the EventLoop given at creation (service_queue, service_backend). The
//   backend's sink calls (can_receive, receive, link_changed) come on the thread that polls it.
// - One mutex serialises all of that. reset() takes it, so it returns only after any queue work
//   in progress finished; it stops watching the kick fds before returning.
// - The kick eventfds must be non-blocking (EventFd's are): the device reads each one when
//   servicing its queue. The device is destroyed only once the I/O thread no longer runs.
// - backend.send() is called with the mutex held (backends never call a sink from send());
//   backend.poll_receive() never is, since it calls back into the sink.
//
// Data path: a TX drain reads each chain's 12-byte header into a local, checks it, and hands the
// backend the rest of the chain as iovecs pointing into guest RAM (one writev for a TAP, no
// copy). Receive writes each frame from the backend's buffer straight into the guest's chains.
// Each drain ends with at most one used buffer notification per queue (EVENT_IDX decides).
// Back-pressure: with no receive buffer the device refuses frames (can_receive() false); the
// backend keeps them and its fd watch is paused, and the guest's next RX kick resumes it
// (a TAP backlog behind a full ring must not stall for good: CVE-2020-16843's lesson). A frame
// already taken when buffers ran out mid-way waits in the device (one, copied) for the refill.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/error.h"
#include "base/event_loop.h"
#include "devices/virtio/net/notification_coalescer.h"
#include "devices/virtio/net/rx_filter.h"
#include "devices/virtio/net/vhost_net.h"
#include "devices/virtio/net/virtio_net_counters.h"
#include "devices/virtio/net/virtio_net_spec.h"
#include "devices/virtio/virtio_device.h"
#include "net/mac_address.h"
#include "net/net_backend.h"

namespace hvmm::virtio {

struct VirtioNetOptions {
    MacAddress mac{};
    uint16_t queue_size = 256;  // receive and transmit queues (a power of two)
    // Offered as VIRTIO_NET_F_MTU when set: Linux then starts the interface at this MTU and
    // refuses a larger one. Unset, the guest starts at 1500 and may go up to 65535 (frames of
    // up to 64 KiB work: MRG_RXBUF spreads them over several buffers).
    std::optional<uint16_t> mtu;
    // vhost-net (vhost_net.h), or nullptr for the userspace data path. With it the device offers
    // what vhost can carry, and at DRIVER_OK hands the receive and transmit rings, their kick
    // eventfds and their call eventfds to the host kernel, which then moves frames between the
    // rings and the TAP (the backend's receive_fd()) with no hvmm thread in the path; the
    // control queue stays here. If vhost refuses, the userspace path takes over (counted, one
    // warning). Outlives the device.
    VhostNet* vhost = nullptr;
    // Bounded polling (`--nic virtio,...,poll-us=N`, QEMU's name for vhost's busy loop): once a
    // TX drain empties the ring, the I/O thread keeps the driver's kicks off and watches the ring
    // for up to this long per turn before turning them back on, so a guest that sends again
    // within the window does so without a kick (a VM exit). It trades a host CPU spinning for
    // exits: worth it only where the I/O thread has a CPU of its own. With vhost the same value
    // is the kernel worker's busy loop (VHOST_SET_VRING_BUSYLOOP_TIMEOUT) on both rings. Zero,
    // the default: no polling.
    std::chrono::microseconds tx_poll{0};
};

class VirtioNet final : public VirtioDevice, private FrameSink {
  public:
    // backend and loop must outlive the device. The device becomes the backend's sink and
    // watches its receive fd from now on.
    static Result<std::unique_ptr<VirtioNet>> create(NetBackend& backend, EventLoop& loop,
                                                     const VirtioNetOptions& options);
    ~VirtioNet() override;
    VirtioNet(const VirtioNet&) = delete;
    VirtioNet& operator=(const VirtioNet&) = delete;

    // VirtioDevice.
    uint16_t device_type() const override { return net_spec::kDeviceType; }
    uint32_t pci_class_code() const override { return net_spec::kPciClassNetwork; }
    uint16_t queue_count() const override { return net_spec::kQueueCount; }
    uint16_t max_queue_size(uint16_t index) const override;
    uint64_t device_features() const override;
    bool accept_features(uint64_t features) override;
    uint32_t config_size() const override { return net_spec::kConfigSize; }
    void read_config(uint32_t offset, std::span<uint8_t> data) override;
    void write_config(uint32_t offset, std::span<const uint8_t> data) override;
    void activate(const ActivationContext& context) override;
    void reset() override;
    std::string_view name() const override { return "virtio-net"; }

    // What a kick on queue index does: drain it (TX, control) or take the refilled buffers and
    // resume the backend (RX). The kick watches call it on the I/O thread; tests call it.
    void service_queue(uint16_t index);
    // What the transmit tick takes of a backlog the guest did not kick for: 16 chains or 64 KiB
    // a millisecond. A guest can refill the ring during a turn without an exit (its stores to
    // avail.idx while notifications are off), so this is work no guest paid for; a guest that
    // sends kicks for it and gets whole turns.
    static constexpr std::chrono::milliseconds kTxTickPeriod{1};
    static constexpr unsigned kTxTickBudget = 16;
    static constexpr uint64_t kTxTickByteBudget = 64 * 1024;
    // The transmit tick: while a TX turn's budget left a backlog, the I/O thread's 1 ms timer
    // takes a small share of it (kTxTickBudget) until the ring is empty or the guest kicks
    // again. The timer calls it on the I/O thread; tests call it.
    void service_tx_tick();
    // Whether that timer is armed (a backlog waits).
    bool tx_backlog_waits() const;
    // A held notification's time is up (NOTF_COAL's usecs): the coalescing timer of queue index
    // (kRxQueue or kTxQueue) calls it on the I/O thread; tests call it.
    void coalescing_timer_expired(uint16_t index);
    // The driver's coalescing limits for queue index, and whether a notification is held there.
    NotificationCoalescer::Limits coalescing_limits(uint16_t index) const;
    bool notification_held(uint16_t index) const;
    // The backend's receive fd is readable: take what it has while there is room. The
    // backend watch calls it on the I/O thread; tests with a fd-less backend call it.
    void service_backend();

    VirtioNetCounters counters() const;
    // The counters under stable names ("tx_frames", "tx_dropped_short_header", ...), in the
    // same order at every call, for the statistics registry. Any thread.
    std::vector<NamedCount> named_counts() const { return to_named_counts(counters()); }
    MacAddress mac() const;
    bool link_up() const;
    RxFilter rx_filter() const;
    bool active() const;

  private:
    VirtioNet(NetBackend& backend, EventLoop& loop, const VirtioNetOptions& options);

    // FrameSink (the backend's thread).
    bool can_receive() override;
    void receive(std::span<const uint8_t> frame) override;
    void link_changed(bool up) override;

    enum class Delivery : uint8_t { kDelivered, kDropped, kNoBuffers };

    // All *_locked members run with mutex_ held.
    void reset_locked();
    // Hands the RX and TX rings to vhost; false (userspace keeps them) if it refused.
    bool start_vhost_locked(const ActivationContext& context);
    // A TX turn: a kick's (the guest's) or the tick's, each with its budget.
    enum class TxTurn : uint8_t { kKick, kTick };
    void service_tx_locked(TxTurn turn = TxTurn::kKick);
    void set_tx_tick_locked(bool armed);
    // One watch of the emptied TX ring within this turn's polling window (started at the first
    // watch, deadline kept by the caller); true when the driver published more meanwhile.
    bool watch_tx_ring_locked(SplitQueue& tx,
                              std::optional<std::chrono::steady_clock::time_point>& deadline);
    void transmit_chain_locked(const DescriptorChain& chain);
    void service_ctrl_locked();
    uint8_t handle_ctrl_locked(uint8_t command_class, uint8_t command, ChainReader& data);
    uint8_t handle_ctrl_mac_table_locked(ChainReader& data);
    uint8_t handle_ctrl_coalescing_locked(uint8_t command, ChainReader& data);
    bool can_receive_locked();
    Delivery deliver_locked(std::span<const uint8_t> frame);
    // Makes sure rx_stash_ holds more than index chains; false when the ring has no more.
    bool stash_rx_chain_locked(size_t index);
    void flush_rx_notification_locked();
    // A drain on queue index ended: a used buffer notification if the driver's suppression
    // (EVENT_IDX) and, for RX and TX, its coalescing limits let one go now.
    void notify_locked(uint16_t index, uint64_t& counter);
    // A used buffer notification if the driver's suppression (EVENT_IDX) asks for one now.
    void signal_if_due_locked(SplitQueue& q, uint16_t index, uint64_t& counter);
    // A held notification's wait is over (its timer, new limits): sent if still due.
    void release_held_notification_locked(uint16_t index);
    // Frames used on RX or TX so far: what the coalescing limits count.
    uint64_t frames_used_locked(uint16_t index) const;
    // Arms queue index's timer for the coalescer's delay (false if it could not), or stops it.
    // Whether it runs is the coalescer's timer_armed(); the expiry stops it (one shot).
    bool arm_coalescing_timer_locked(uint16_t index);
    void stop_coalescing_timer_locked(uint16_t index);
    bool negotiated(uint64_t feature) const { return (features_ & feature) != 0; }
    SplitQueue* queue(uint16_t index) const { return active_ ? queues_[index] : nullptr; }
    void resume_backend();

    NetBackend& backend_;
    EventLoop& loop_;
    const VirtioNetOptions options_;
    const size_t vnet_header_size_;  // the backend's: 0 or 12
    const int backend_fd_;
    // EPOLLIN armed on backend_fd_: the I/O thread pauses and resumes it, activate() and reset()
    // (a vCPU thread) take it away from and give it back to vhost.
    std::atomic<bool> backend_watched_ = false;
    bool vhost_running_ = false;  // under mutex_
    uint64_t tx_tick_timer_ = 0;  // the transmit tick's timer, made stopped at creation
    bool tx_tick_armed_ = false;  // under mutex_

    mutable std::mutex mutex_;
    bool active_ = false;
    uint64_t features_ = 0;
    VirtioInterrupt* interrupt_ = nullptr;
    std::array<SplitQueue*, net_spec::kQueueCount> queues_{};
    std::array<int, net_spec::kQueueCount> kick_fds_{-1, -1, -1};
    MacAddress mac_;
    bool link_up_ = true;  // what the backend last said (a sink starts out assuming up)
    RxFilter filter_;
    VirtioNetCounters counters_;
    // Receive buffers popped but not yet used (a frame that did not fit, or can_receive()
    // checking for room), in ring order; the queue's reset returns them to the driver.
    std::deque<DescriptorChain> rx_stash_;
    std::vector<uint8_t> held_frame_;  // taken from the backend, waiting for buffers
    bool frame_held_ = false;
    bool rx_refused_ = false;         // can_receive() said no: the next refill resumes the backend
    bool rx_notify_pending_ = false;  // used entries on the RX queue not yet considered
    bool in_backend_poll_ = false;    // service_backend() is polling: notify once at its end
    std::vector<iovec> tx_iovecs_;    // scratch for one frame's gather list
    std::vector<uint8_t> tx_bounce_;  // a frame whose checksum the device completes
    // NOTF_COAL, indexed by kRxQueue and kTxQueue: the driver's limits and what is held, each
    // queue's timer (made stopped at creation), and frames_used_locked() when the coalescer last
    // looked (taken again whenever limits are set).
    static constexpr size_t kCoalescedQueues = 2;
    static_assert(net_spec::kRxQueue < kCoalescedQueues && net_spec::kTxQueue < kCoalescedQueues);
    std::array<NotificationCoalescer, kCoalescedQueues> coalescers_{};
    std::array<uint64_t, kCoalescedQueues> coalescing_timers_{};
    std::array<uint64_t, kCoalescedQueues> frames_seen_{};
};

}  // namespace hvmm::virtio
