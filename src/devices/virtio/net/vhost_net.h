// vhost-net: the host kernel moves a virtio-net NIC's frames between the guest's rings and a TAP,
// with no exit to hvmm and no hvmm thread on the data path. This object owns one /dev/vhost-net
// descriptor and runs its control sequence; the virtio-net device decides when (DRIVER_OK, reset,
// exit) and hands it what the transport and the TAP already have.
//
// Life cycle (`--nic virtio,net=tap:NAME,vhost=on|auto|off`):
// - At NIC creation, before any sandbox: open_vhost_net() opens /dev/vhost-net, VHOST_SET_OWNER
//   (the kernel starts its worker thread for this process), VHOST_GET_FEATURES once. vhost=on
//   failing is one error line naming the reason; vhost=auto falls back to the userspace data path
//   with an info line; vhost=off opens nothing.
// - The device offers offerable_features(its own features) instead of its own features.
// - DRIVER_OK: start(acked features, guest memory, {rx, tx} queue setups, TAP fd) runs
//   VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE, then per queue VHOST_SET_VRING_NUM, _BASE, _ADDR,
//   _KICK, _CALL (and _ERR when the device watches one), then per queue VHOST_NET_SET_BACKEND(tap).
//   Everything is checked first (ring addresses inside RAM, the TAP's header length), so a bad
//   setup makes no ioctl at all; an ioctl failing part-way undoes what was bound (backend -1, kick
//   and call unbound) and the error names the ioctl, the queue and errno. The caller must then not
//   pretend the device runs: it sets DEVICE_NEEDS_RESET (the transport's business) and the guest
//   sees a dead NIC it can reset, never a silent stall.
// - Reset or exit: stop() runs VHOST_NET_SET_BACKEND(-1) per queue (the kernel finishes and
//   flushes what it was doing), then VHOST_GET_VRING_BASE per queue (the next available index
//   vhost would have taken, for a queue that carries on in userspace), then unbinds kick and call
//   so the kernel keeps no reference to the transport's eventfds. Idempotent; the destructor runs
//   it too.
// - While vhost runs the TAP is the kernel's: hvmm must not read or write the TAP fd (the event
//   loop stops watching its receive fd), or it would steal and interleave frames. The TAP stays
//   open (owned by the TAP backend) for as long as VhostNet may be started.
// - A sandbox installed after creation must still allow ioctl() on the vhost fd (start and stop
//   run at DRIVER_OK and reset) and write() on the kick eventfds; SET_OWNER tied the kernel
//   worker to this process's address space, which is where guest RAM is mapped, so RAM mapped
//   after open is fine.
// - Not carried: multiqueue (one vhost-net fd per rx/tx pair would be needed), the packed ring,
//   dirty-page logging (migration), an IOMMU (ACCESS_PLATFORM), per-queue reset (RING_RESET is
//   offered only if the device offers it, and then the transport must stop/start vhost).
//
// Notifications:
// - Kick: the fd start() binds with VHOST_SET_VRING_KICK is the transport's kick eventfd, the one
//   KVM's ioeventfd on the queue's notify address signals. A guest notify therefore wakes the
//   vhost worker straight from KVM: no VM exit to userspace, no hvmm thread. While vhost runs, the
//   device must not watch (or drain) the kick fds itself.
// - Call: the fd bound with VHOST_SET_VRING_CALL is VirtioInterrupt::call_fd(queue), which the
//   transport owns. While the queue's MSI-X vector is unmasked the transport keeps that eventfd
//   bound in KVM as an irqfd to the vector's route, so a used-buffer interrupt goes from the vhost
//   worker to the guest without hvmm. When the guest masks the vector (or the whole function),
//   the transport unbinds the irqfd (KVM_IRQFD with DEASSIGN) and watches the same eventfd on its
//   event loop, setting the vector's pending bit when it fires; on unmask it re-binds the irqfd
//   and, if the pending bit was set, delivers the message once. No interrupt is lost across the
//   switch: while bound, KVM injects on every signal (the count KVM drops on DEASSIGN was already
//   delivered); after it, the eventfd's count stays readable until the transport drains it. The fd
//   number never changes, so vhost needs no ioctl at all on mask or unmask: masking is entirely the
//   transport's business, and VirtioInterrupt's "stable from activation until reset" promise is
//   what this relies on. Should the driver move a queue to another vector after DRIVER_OK, the
//   transport likewise only re-points the irqfd/route of the same eventfd. (With INTx the transport
//   watches the call fd and raises the line with the ISR bit: again no vhost change.)
//
// The virtio-net header: vhost-net can add and strip the header itself (feature bit 27,
// VHOST_NET_F_VIRTIO_NET_HDR, meaning "the backend carries no header") or leave it to the socket.
// hvmm always opens the TAP with IFF_VNET_HDR and TUNSETVNETHDRSZ = vnet_header_size(features)
// (12 bytes with VERSION_1 or MRG_RXBUF, which a modern driver always has), so the TAP carries the
// header the guest wrote and vhost is given features *without* bit 27. start() refuses a TAP
// whose header length differs, since vhost would otherwise send garbled frames without an error.
// Offloads (CSUM, GUEST_TSO4, ...) travel in that header to the TAP: the device sets the TAP's
// offloads (TUNSETOFFLOAD) from the acked features as it does without vhost; vhost itself does
// not take those bits (VHOST_SET_FEATURES refuses bits it does not know).
//
// Threads: none of its own (the kernel's vhost worker is the data path). The owning device calls
// start()/stop() from its activate()/reset(), which the transport serialises; the destructor runs
// on the thread that tears the NIC down. counters() may be read from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "devices/virtio/net/vhost_mode.h"
#include "base/error.h"
#include "devices/virtio/net/vhost_ioctls.h"
#include "memory/guest_address.h"
#include "memory/guest_memory.h"

namespace hvmm::virtio {

// Feature bits vhost-net's control sequence handles (VIRTIO 1.2 "Reserved Feature Bits",
// "Feature bits" of the network device, and <linux/vhost_types.h>).
namespace vhost_bits {
inline constexpr uint64_t kNetMrgRxbuf = uint64_t{1} << 15;    // VIRTIO_NET_F_MRG_RXBUF
inline constexpr uint64_t kNotifyOnEmpty = uint64_t{1} << 24;  // VIRTIO_F_NOTIFY_ON_EMPTY
inline constexpr uint64_t kLogAll = uint64_t{1} << 26;         // VHOST_F_LOG_ALL (vhost only)
// Bit 27 is both legacy VIRTIO_F_ANY_LAYOUT and VHOST_NET_F_VIRTIO_NET_HDR: for vhost it means
// "vhost adds the header", which hvmm never wants (the TAP carries it), and a modern device
// does not offer ANY_LAYOUT (VERSION_1 implies it).
inline constexpr uint64_t kVhostNetHdr = uint64_t{1} << 27;
inline constexpr uint64_t kVersion1 = uint64_t{1} << 32;        // VIRTIO_F_VERSION_1
inline constexpr uint64_t kAccessPlatform = uint64_t{1} << 33;  // VIRTIO_F_ACCESS_PLATFORM
// Bits that change the ring or the data path's frame format, so they may be offered only when
// this kernel's vhost implements them: the transport range 24..41 and the network device's
// MRG_RXBUF, HASH_REPORT (57), RSS (60) and RSC_EXT (61). Other device bits (MAC, STATUS, MTU,
// offloads carried in the header, the control queue hvmm serves itself) pass through.
inline constexpr uint64_t kTransportRange = ((uint64_t{1} << 42) - 1) & ~((uint64_t{1} << 24) - 1);
inline constexpr uint64_t kDataPath = kTransportRange | kNetMrgRxbuf | (uint64_t{1} << 57) |
                                      (uint64_t{1} << 60) | (uint64_t{1} << 61);
}  // namespace vhost_bits

// The virtio-net header length for negotiated features ("Device Operation": struct
// virtio_net_hdr has num_buffers with VERSION_1 or MRG_RXBUF): 12, else the legacy 10. The TAP
// must be set to it (TUNSETVNETHDRSZ) before start().
constexpr int vnet_header_size(uint64_t features) {
    return (features & (vhost_bits::kVersion1 | vhost_bits::kNetMrgRxbuf)) != 0 ? 12 : 10;
}

// One virtqueue as the transport configured it, for vhost. Queue index 0 is receive, 1 transmit.
struct VhostQueueSetup {
    uint32_t size = 0;  // queue size (power of two, 1..32768)
    GuestAddress desc_table;
    GuestAddress avail_ring;
    GuestAddress used_ring;
    uint16_t next_avail = 0;  // SplitQueue::next_avail(): where vhost starts taking buffers
    int kick_fd = -1;         // ActivationContext::kick_fds[index]
    int call_fd = -1;         // VirtioInterrupt::call_fd(index)
    // Optional (-1: none): an eventfd vhost signals when it finds this ring broken (a guest
    // fault: an unreadable avail index, a bad descriptor, a used index moved under it), bound
    // with VHOST_SET_VRING_ERR. The kernel then stops servicing the ring, so the device should
    // watch it, count it and warn (rate-limited): otherwise a broken ring is a silent stall.
    int err_fd = -1;
    // Microseconds the kernel worker busy-polls this ring before sleeping
    // (VHOST_SET_VRING_BUSYLOOP_TIMEOUT, set at every start); 0 leaves the ioctl out (the
    // kernel's default is no polling, and a vhost fd is never started with another value
    // before, since the value is the NIC's for its whole life).
    unsigned busyloop_us = 0;
};

// What stop() recovered per queue: the next available index (VHOST_GET_VRING_BASE), or nothing
// when that ioctl failed (the queue must then be reset, not continued).
using VhostStopResult = std::vector<std::optional<uint16_t>>;

struct VhostNetCountersSnapshot {
    uint64_t starts = 0;          // start() calls that left vhost running
    uint64_t start_failures = 0;  // start() calls refused or failed (each also an Error)
    uint64_t stops = 0;           // stop() calls that stopped a running vhost
    uint64_t ioctl_failures = 0;  // individual ioctls that failed, at start, stop or undo
};

class VhostNet {
  public:
    // Takes control of an open vhost descriptor: VHOST_SET_OWNER, VHOST_GET_FEATURES.
    static Result<std::unique_ptr<VhostNet>> create(std::unique_ptr<VhostIoctls> ioctls);
    ~VhostNet();
    VhostNet(const VhostNet&) = delete;
    VhostNet& operator=(const VhostNet&) = delete;

    // What VHOST_GET_FEATURES reported.
    uint64_t backend_features() const { return backend_features_; }
    // The features a device may offer when vhost carries its queues: its own, with every data
    // path bit (vhost_bits::kDataPath) this kernel's vhost lacks removed, and never
    // ACCESS_PLATFORM (hvmm gives vhost guest-physical = userspace translations, no IOMMU), the
    // vhost-only LOG_ALL or bit 27.
    uint64_t offerable_features(uint64_t device_features) const;
    // The word start() gives VHOST_SET_FEATURES for what the driver acked: the acked bits vhost
    // knows, without ACCESS_PLATFORM, LOG_ALL and VHOST_NET_F_VIRTIO_NET_HDR (see the header
    // note above).
    uint64_t vhost_features_for(uint64_t acked_features) const;

    // Starts the data path; `queues` is exactly {rx, tx}. On error nothing stays bound to vhost
    // (and the message names the check or ioctl that failed). Calling start() while running
    // stops first.
    Result<void> start(uint64_t acked_features, const GuestMemory& memory,
                       std::span<const VhostQueueSetup> queues, int tap_fd);
    // Stops the data path (see the contract above). Returns one entry per queue start() was
    // given, or an empty vector when vhost was not running (a second stop() is harmless).
    VhostStopResult stop();
    bool running() const { return running_; }

    VhostNetCountersSnapshot counters() const;

  private:
    explicit VhostNet(std::unique_ptr<VhostIoctls> ioctls) : ioctls_(std::move(ioctls)) {}
    // Backend -1 on the first `backends` queues, unbinds kick and call on the first `files` (and
    // the error fd where one was bound).
    void undo(unsigned backends, unsigned files);
    void warn_failed(std::string_view ioctl, unsigned index, int error);
    // Counts the failure and builds "VHOST_... (queue N): strerror" .
    std::unexpected<Error> ioctl_failed(std::string_view ioctl, int queue, int error);

    std::unique_ptr<VhostIoctls> ioctls_;
    uint64_t backend_features_ = 0;
    bool running_ = false;
    unsigned queue_count_ = 0;         // queues bound by the running start()
    std::array<bool, 2> err_bound_{};  // per queue: VHOST_SET_VRING_ERR was given an fd
    struct Counters {
        std::atomic<uint64_t> starts{0};
        std::atomic<uint64_t> start_failures{0};
        std::atomic<uint64_t> stops{0};
        std::atomic<uint64_t> ioctl_failures{0};
    };
    Counters counters_;
};

inline constexpr std::string_view kVhostNetPath = "/dev/vhost-net";

// Opens vhost for a NIC at creation time. kOff: nullptr. kAuto: the VhostNet, or nullptr with an
// info line ("<nic_label>: vhost unavailable (<reason>); using the userspace data path"). kOn:
// the VhostNet, or an error "<nic_label>: cannot open /dev/vhost-net: <reason> (<what to do>)".
// nic_label is how the user wrote the NIC, e.g. "--nic virtio,vhost=on".
Result<std::unique_ptr<VhostNet>> open_vhost_net(
    VhostMode mode, std::string_view nic_label,
    const std::string& path = std::string(kVhostNetPath));

}  // namespace hvmm::virtio
