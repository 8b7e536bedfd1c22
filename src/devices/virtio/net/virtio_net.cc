// VirtioNet's life cycle: features, configuration, activation and reset, the event loop
// watches, link status. The queues' work is in virtio_net_tx.cc, virtio_net_rx.cc and
// virtio_net_ctrl.cc.
#include "devices/virtio/net/virtio_net.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cstring>

#include "base/log.h"
#include "devices/virtio/net/vnet_header.h"

namespace hvmm::virtio {

using namespace net_spec;

namespace {

constexpr uint16_t kCtrlQueueSize = 64;

// Reads an eventfd's counter (a kick); 0 when it was not signalled.
uint64_t drain_eventfd(int fd) {
    uint64_t value = 0;
    if (fd < 0 || ::read(fd, &value, sizeof(value)) != sizeof(value)) {
        return 0;
    }
    return value;
}

}  // namespace

Result<std::unique_ptr<VirtioNet>> VirtioNet::create(NetBackend& backend, EventLoop& loop,
                                                     const VirtioNetOptions& options) {
    const uint16_t size = options.queue_size;
    if (size == 0 || (size & (size - 1)) != 0 || size > 32768) {
        return fail("virtio-net queue size {} is not a power of two up to 32768", size);
    }
    if (options.mtu && *options.mtu < 68) {
        return fail("virtio-net MTU {} is below IPv4's minimum of 68", *options.mtu);
    }
    if (backend.vnet_header_size() != 0 &&
        backend.vnet_header_size() != hvmm::net::kVnetHeaderSize) {
        return fail("{} has a {}-byte virtio-net header; virtio-net needs {}", backend.describe(),
                    backend.vnet_header_size(), hvmm::net::kVnetHeaderSize);
    }
    auto device = std::unique_ptr<VirtioNet>(new VirtioNet(backend, loop, options));
    {
        VirtioNet* self = device.get();
        device->tx_tick_timer_ =
            HVMM_TRY(loop.add_timer(kTxTickPeriod, [self] { self->service_tx_tick(); }));
        HVMM_TRY_VOID(loop.stop_timer(device->tx_tick_timer_));
        for (uint16_t index : {kRxQueue, kTxQueue}) {
            const uint64_t timer =
                HVMM_TRY(loop.add_timer(NotificationCoalescer::kFrameLimitCeiling,
                                        [self, index] { self->coalescing_timer_expired(index); }));
            device->coalescing_timers_[index] = timer;
            HVMM_TRY_VOID(loop.stop_timer(timer));
        }
    }
    backend.set_sink(device.get());
    if (device->backend_fd_ >= 0) {
        VirtioNet* self = device.get();
        HVMM_TRY_VOID(
            loop.add_fd(device->backend_fd_, [self](uint32_t) { self->service_backend(); }));
        device->backend_watched_ = true;
    }
    return device;
}

VirtioNet::VirtioNet(NetBackend& backend, EventLoop& loop, const VirtioNetOptions& options)
    : backend_(backend),
      loop_(loop),
      options_(options),
      vnet_header_size_(backend.vnet_header_size()),
      backend_fd_(backend.receive_fd()),
      mac_(options.mac) {}

VirtioNet::~VirtioNet() {
    if (backend_fd_ >= 0) {
        loop_.remove_fd(backend_fd_);
    }
    if (tx_tick_timer_ != 0) {
        loop_.remove_timer(tx_tick_timer_);
    }
    for (uint64_t timer : coalescing_timers_) {
        if (timer != 0) {
            loop_.remove_timer(timer);
        }
    }
    reset();
    backend_.set_sink(nullptr);
}

uint16_t VirtioNet::max_queue_size(uint16_t index) const {
    return index == kCtrlQueue ? kCtrlQueueSize : options_.queue_size;
}

uint64_t VirtioNet::device_features() const {
    uint64_t features = kFeatureVersion1 | kFeatureEventIdx | kFeatureIndirectDesc | kMac |
                        kStatus | kMrgRxbuf | kCtrlVq | kCtrlRx | kCtrlRxExtra | kCtrlMacAddr;
    if (options_.mtu) {
        features |= kMtu;
    }
    features |= offered_offload_features(vnet_header_size_);
    // vhost's interrupts go from the kernel worker to KVM with no hvmm thread to hold them.
    return options_.vhost ? options_.vhost->offerable_features(features) : features | kNotfCoal;
}

bool VirtioNet::accept_features(uint64_t features) {
    // hvmm's virtio devices are modern only: without VERSION_1 the header and configuration
    // would have their legacy layouts.
    if ((features & kFeatureVersion1) == 0) {
        static log::RateLimitedWarning warning;
        if (log::level() >= log::Level::kWarn) {  // the refusal itself is the answer
            warning("virtio-net: driver did not accept VERSION_1; refusing its features");
        }
        return false;
    }
    if (const auto missing = missing_feature_dependency(features); !missing.empty()) {
        static log::RateLimitedWarning warning;
        if (log::level() >= log::Level::kWarn) {  // the refusal itself is the answer
            warning("virtio-net: driver accepted {}; refusing its features", missing);
        }
        return false;
    }
    return true;
}

void VirtioNet::read_config(uint32_t offset, std::span<uint8_t> data) {
    std::array<uint8_t, kConfigSize> config{};
    {
        std::lock_guard lock(mutex_);
        std::memcpy(config.data() + kConfigMacOffset, mac_.bytes.data(), 6);
        const uint16_t status = link_up_ ? kStatusLinkUp : 0;
        std::memcpy(config.data() + kConfigStatusOffset, &status, 2);
    }
    const uint16_t pairs = 1;
    std::memcpy(config.data() + kConfigMaxPairsOffset, &pairs, 2);
    const uint16_t mtu = options_.mtu.value_or(0);
    std::memcpy(config.data() + kConfigMtuOffset, &mtu, 2);
    // The transport refused accesses past config_size(); clamp anyway, it costs nothing.
    for (size_t i = 0; i < data.size(); ++i) {
        data[i] = offset + i < config.size() ? config[offset + i] : 0;
    }
}

void VirtioNet::write_config(uint32_t offset, std::span<const uint8_t> data) {
    // Every field is read-only for a modern driver (a MAC changes through the control queue's
    // MAC_ADDR_SET), so a write changes nothing.
    std::lock_guard lock(mutex_);
    ++counters_.config_writes_ignored;
    static log::RateLimitedWarning warning;
    if (log::level() >= log::Level::kWarn) {  // counted either way
        warning("virtio-net: ignored a {}-byte write to the read-only configuration at {}",
                data.size(), offset);
    }
}

void VirtioNet::activate(const ActivationContext& context) {
    std::lock_guard lock(mutex_);
    reset_locked();
    features_ = context.features;
    interrupt_ = &context.interrupt;
    for (uint16_t i = 0; i < kQueueCount; ++i) {
        queues_[i] = i < context.queues.size() ? context.queues[i] : nullptr;
        kick_fds_[i] = i < context.kick_fds.size() && queues_[i] ? context.kick_fds[i] : -1;
    }
    active_ = true;
    if (vnet_header_size_ != 0) {
        // Offloads are permissions: if the backend refuses, frames simply arrive complete.
        if (auto set = backend_.set_receive_offloads(receive_offloads(features_)); !set) {
            log::warn("virtio-net: {}", set.error().message);
        }
    }
    if (options_.vhost && start_vhost_locked(context)) {
        // The kernel now takes the RX and TX kicks and reads the TAP; only the control queue's
        // kicks come here.
        kick_fds_[kRxQueue] = kick_fds_[kTxQueue] = -1;
    }
    for (uint16_t i = 0; i < kQueueCount; ++i) {
        if (kick_fds_[i] < 0) {
            continue;
        }
        if (auto added = loop_.add_fd(kick_fds_[i], [this, i](uint32_t) { service_queue(i); });
            !added) {
            log::error("virtio-net: cannot watch queue {}'s notifications: {}", i,
                       added.error().message);
            kick_fds_[i] = -1;
        }
    }
    // Frames the backend held while the device was inactive go as soon as the guest's receive
    // buffers are there: look at the RX queue once on the I/O thread, as a kick would.
    rx_refused_ = true;
    if (kick_fds_[kRxQueue] >= 0) {
        const uint64_t one = 1;
        [[maybe_unused]] const auto written = ::write(kick_fds_[kRxQueue], &one, sizeof(one));
    }
}

void VirtioNet::reset() {
    std::lock_guard lock(mutex_);
    reset_locked();
}

bool VirtioNet::start_vhost_locked(const ActivationContext& context) {
    std::array<VhostQueueSetup, 2> setups{};
    const std::array<uint16_t, 2> order{kRxQueue, kTxQueue};  // vhost-net's queue 0 and 1
    bool ready = backend_fd_ >= 0;
    for (size_t i = 0; ready && i < order.size(); ++i) {
        const SplitQueue* q = queues_[order[i]];
        if (q == nullptr || kick_fds_[order[i]] < 0) {
            ready = false;
            break;
        }
        setups[i] = VhostQueueSetup{.size = q->config().size,
                                    .desc_table = q->config().desc_table,
                                    .avail_ring = q->config().avail_ring,
                                    .used_ring = q->config().used_ring,
                                    .next_avail = q->next_avail(),
                                    .kick_fd = kick_fds_[order[i]],
                                    .call_fd = context.interrupt.call_fd(order[i]),
                                    .busyloop_us = static_cast<unsigned>(options_.tx_poll.count())};
    }
    Result<void> started =
        ready ? options_.vhost->start(features_, context.memory, setups, backend_fd_)
              : fail("the driver left the receive or transmit queue disabled");
    if (!started) {
        ++counters_.vhost_fallbacks;
        static log::RateLimitedWarning warning;
        warning("virtio-net: vhost-net did not start ({}); using the userspace data path",
                started.error().message);
        return false;
    }
    // The TAP is vhost's now: stop watching it (a frame hvmm had already read is delivered by
    // receive(), which vhost_running_ makes a counted drop instead).
    if (backend_fd_ >= 0 && loop_.modify_fd(backend_fd_, 0)) {
        backend_watched_ = false;
    }
    vhost_running_ = true;
    ++counters_.vhost_starts;
    return true;
}

void VirtioNet::reset_locked() {
    if (vhost_running_) {
        // The kernel lets go of the rings and the TAP before the transport resets the queues.
        options_.vhost->stop();
        vhost_running_ = false;
        if (backend_fd_ >= 0 && loop_.modify_fd(backend_fd_, EPOLLIN)) {
            backend_watched_ = true;
        }
    }
    for (int& fd : kick_fds_) {
        if (fd >= 0) {
            loop_.remove_fd(fd);
        }
        fd = -1;
    }
    if (active_ && vnet_header_size_ != 0 && receive_offloads(features_) != net::NetOffloads{}) {
        // The next driver (or none) has accepted nothing yet.
        if (auto set = backend_.set_receive_offloads({}); !set) {
            log::warn("virtio-net: {}", set.error().message);
        }
    }
    if (frame_held_) {
        ++counters_.rx_dropped_not_ready;
    }
    active_ = false;
    features_ = 0;
    interrupt_ = nullptr;
    queues_.fill(nullptr);
    rx_stash_.clear();
    frame_held_ = false;
    rx_notify_pending_ = false;
    mac_ = options_.mac;
    filter_.reset();
    // "Upon reset, a device MUST initialize all coalescing parameters to 0." (frames_seen_ is
    // taken again when the next limits are set.)
    for (uint16_t index : {kRxQueue, kTxQueue}) {
        if (coalescers_[index].timer_armed()) {
            stop_coalescing_timer_locked(index);
        }
        coalescers_[index].reset();
    }
}

void VirtioNet::service_queue(uint16_t index) {
    bool resume = false;
    {
        std::lock_guard lock(mutex_);
        if (index >= kQueueCount || queue(index) == nullptr) {
            return;
        }
        const bool kicked = drain_eventfd(kick_fds_[index]) != 0;
        switch (index) {
            case kTxQueue:
                counters_.tx_kicks += kicked;
                service_tx_locked();
                break;
            case kCtrlQueue:
                service_ctrl_locked();
                break;
            case kRxQueue:
                counters_.rx_kicks += kicked;
                // New buffers: the frame that waited goes first, then the backend resumes.
                if (frame_held_ && deliver_locked(held_frame_) != Delivery::kNoBuffers) {
                    frame_held_ = false;
                }
                flush_rx_notification_locked();
                resume = rx_refused_ && can_receive_locked();
                if (resume) {
                    rx_refused_ = false;
                }
                break;
        }
    }
    if (resume) {
        resume_backend();
    }
}

void VirtioNet::resume_backend() {
    if (backend_fd_ >= 0 && !backend_watched_) {
        backend_watched_ = static_cast<bool>(loop_.modify_fd(backend_fd_, EPOLLIN));
    }
    service_backend();
}

void VirtioNet::service_backend() {
    {
        std::lock_guard lock(mutex_);
        in_backend_poll_ = true;
    }
    backend_.poll_receive();
    bool pause = false;
    {
        std::lock_guard lock(mutex_);
        in_backend_poll_ = false;
        flush_rx_notification_locked();
        pause = !can_receive_locked();
    }
    // With no receive buffer the frames stay queued in the backend, whose fd stays readable: a
    // level-triggered watch would call straight back and spin the I/O thread. Stop watching
    // until the guest refills (service_queue(kRxQueue) resumes). A backend whose fd goes quiet
    // by itself stays watched: the same fd also tells it when queued sends can go.
    if (pause && backend_fd_ >= 0 && backend_watched_ && !backend_.receive_fd_pauses_itself()) {
        if (loop_.modify_fd(backend_fd_, 0)) {
            backend_watched_ = false;
        }
    }
}

void VirtioNet::link_changed(bool up) {
    std::lock_guard lock(mutex_);
    if (up == link_up_) {
        return;
    }
    link_up_ = up;
    if (active_ && negotiated(kStatus)) {
        ++counters_.config_changes;
        interrupt_->signal_config();
    }
}

void VirtioNet::notify_locked(uint16_t index, uint64_t& counter) {
    SplitQueue* q = queue(index);
    if (q == nullptr) {
        return;
    }
    if (index < kCoalescedQueues && coalescers_[index].coalescing()) {
        const uint64_t used = frames_used_locked(index);
        const uint64_t frames = used - frames_seen_[index];
        frames_seen_[index] = used;
        const bool was_holding = coalescers_[index].timer_armed();
        switch (coalescers_[index].frames_used(frames)) {
            case NotificationCoalescer::Action::kNotify:
                if (was_holding) {
                    stop_coalescing_timer_locked(index);
                }
                break;
            case NotificationCoalescer::Action::kArmTimer:
                if (!arm_coalescing_timer_locked(index)) {
                    // No timer, no holding: what is due goes now rather than wait for good.
                    coalescers_[index].timer_expired();
                    break;
                }
                [[fallthrough]];
            case NotificationCoalescer::Action::kHold:
                // should_notify() is not asked: it would take the held entries as looked at,
                // and the driver's used_event may lie among them.
                if (frames != 0) {
                    ++(index == kTxQueue ? counters_.tx_notifications_held
                                         : counters_.rx_notifications_held);
                }
                return;
        }
    }
    signal_if_due_locked(*q, index, counter);
}

void VirtioNet::signal_if_due_locked(SplitQueue& q, uint16_t index, uint64_t& counter) {
    if (q.should_notify()) {
        ++counter;
        interrupt_->signal_used(index);
    }
}

void VirtioNet::release_held_notification_locked(uint16_t index) {
    if (SplitQueue* q = queue(index)) {
        signal_if_due_locked(
            *q, index, index == kTxQueue ? counters_.tx_notifications : counters_.rx_notifications);
    }
}

uint64_t VirtioNet::frames_used_locked(uint16_t index) const {
    if (index == kRxQueue) {
        return counters_.rx_frames;  // a frame may fill several buffers (MRG_RXBUF)
    }
    // Every TX chain is used once, sent or dropped: the queue's used entries.
    const SplitQueue* tx = queue(kTxQueue);
    return tx != nullptr ? tx->counters().used : 0;
}

bool VirtioNet::arm_coalescing_timer_locked(uint16_t index) {
    const auto armed =
        loop_.set_timer_period(coalescing_timers_[index], coalescers_[index].delay());
    if (!armed) {
        static log::RateLimitedWarning warning;
        warning("virtio-net: notification coalescing timer: {}", armed.error().message);
    }
    return static_cast<bool>(armed);
}

void VirtioNet::stop_coalescing_timer_locked(uint16_t index) {
    // A timer left running only fires a stale expiry, which sends nothing not already due.
    [[maybe_unused]] const auto stopped = loop_.stop_timer(coalescing_timers_[index]);
}

void VirtioNet::coalescing_timer_expired(uint16_t index) {
    std::lock_guard lock(mutex_);
    if (index >= kCoalescedQueues) {
        return;
    }
    stop_coalescing_timer_locked(index);  // one shot
    if (!coalescers_[index].timer_armed()) {
        return;  // released meanwhile (limits changed, enough frames, reset)
    }
    coalescers_[index].timer_expired();
    release_held_notification_locked(index);
}

NotificationCoalescer::Limits VirtioNet::coalescing_limits(uint16_t index) const {
    std::lock_guard lock(mutex_);
    return index < kCoalescedQueues ? coalescers_[index].limits() : NotificationCoalescer::Limits{};
}

bool VirtioNet::notification_held(uint16_t index) const {
    std::lock_guard lock(mutex_);
    return index < kCoalescedQueues && coalescers_[index].timer_armed();
}

VirtioNetCounters VirtioNet::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

MacAddress VirtioNet::mac() const {
    std::lock_guard lock(mutex_);
    return mac_;
}

bool VirtioNet::link_up() const {
    std::lock_guard lock(mutex_);
    return link_up_;
}

RxFilter VirtioNet::rx_filter() const {
    std::lock_guard lock(mutex_);
    return filter_;
}

bool VirtioNet::active() const {
    std::lock_guard lock(mutex_);
    return active_;
}

}  // namespace hvmm::virtio
