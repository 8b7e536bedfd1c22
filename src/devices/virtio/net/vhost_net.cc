#include "devices/virtio/net/vhost_net.h"

#include <cstring>

#include "base/log.h"
#include "devices/virtio/queue/split_queue.h"
#include "devices/virtio/queue/virtq_ring.h"

namespace hvmm::virtio {
namespace {

// vhost-net has exactly one receive and one transmit ring per descriptor (VHOST_NET_VQ_RX = 0,
// VHOST_NET_VQ_TX = 1); a multiqueue NIC would open one /dev/vhost-net per pair.
constexpr size_t kVhostNetQueues = 2;

// Bits never handed to vhost in VHOST_SET_FEATURES nor offered through it.
constexpr uint64_t kNeverCarried =
    vhost_bits::kAccessPlatform | vhost_bits::kLogAll | vhost_bits::kVhostNetHdr;

// The host addresses of one queue's rings, checked whole against guest RAM.
struct RingHostAddresses {
    uint64_t desc = 0;
    uint64_t avail = 0;
    uint64_t used = 0;
};

Result<RingHostAddresses> translate_rings(const GuestMemory& memory, unsigned index,
                                          const VhostQueueSetup& queue) {
    if (queue.kick_fd < 0 || queue.call_fd < 0) {
        return fail("vhost-net: queue {} has no kick or call eventfd (kick {}, call {})", index,
                    queue.kick_fd, queue.call_fd);
    }
    const SplitQueueConfig config{.size = queue.size,
                                  .desc_table = queue.desc_table,
                                  .avail_ring = queue.avail_ring,
                                  .used_ring = queue.used_ring};
    // The same size, alignment and whole-range RAM checks the userspace queue makes: vhost
    // reads and writes these through the host mapping, so every byte must be guest RAM.
    if (auto valid = validate(memory, config); !valid) {
        return fail("vhost-net: queue {} refused: {}", index, describe(valid.error()));
    }
    // validate() has just checked each whole ring inside one region, so span() answers.
    const auto host = [&](GuestAddress address, uint64_t length) {
        return reinterpret_cast<uint64_t>(memory.span(address, length)->data());
    };
    return RingHostAddresses{.desc = host(queue.desc_table, desc_table_size(queue.size)),
                             .avail = host(queue.avail_ring, avail_ring_size(queue.size)),
                             .used = host(queue.used_ring, used_ring_size(queue.size))};
}

}  // namespace

Result<std::unique_ptr<VhostNet>> VhostNet::create(std::unique_ptr<VhostIoctls> ioctls) {
    std::unique_ptr<VhostNet> vhost(new VhostNet(std::move(ioctls)));
    if (const int error = vhost->ioctls_->set_owner(); error != 0) {
        return vhost->ioctl_failed("VHOST_SET_OWNER", -1, error);
    }
    if (const int error = vhost->ioctls_->get_features(vhost->backend_features_); error != 0) {
        return vhost->ioctl_failed("VHOST_GET_FEATURES", -1, error);
    }
    // hvmm's virtio-pci transport is modern only: a vhost without VERSION_1 could carry nothing.
    if ((vhost->backend_features_ & vhost_bits::kVersion1) == 0) {
        return fail("vhost-net: this kernel's vhost lacks VIRTIO_F_VERSION_1 (features {:#x})",
                    vhost->backend_features_);
    }
    return vhost;
}

VhostNet::~VhostNet() {
    stop();
}

uint64_t VhostNet::offerable_features(uint64_t device_features) const {
    const uint64_t missing_data_path = vhost_bits::kDataPath & ~backend_features_;
    return device_features & ~missing_data_path & ~kNeverCarried;
}

uint64_t VhostNet::vhost_features_for(uint64_t acked_features) const {
    return acked_features & backend_features_ & ~kNeverCarried;
}

std::unexpected<Error> VhostNet::ioctl_failed(std::string_view ioctl, int queue, int error) {
    counters_.ioctl_failures.fetch_add(1, std::memory_order_relaxed);
    if (queue < 0) {
        return fail("vhost-net: {} failed: {}", ioctl, std::strerror(error));
    }
    return fail("vhost-net: {} (queue {}) failed: {}", ioctl, queue, std::strerror(error));
}

Result<void> VhostNet::start(uint64_t acked_features, const GuestMemory& memory,
                             std::span<const VhostQueueSetup> queues, int tap_fd) {
    if (running_) {
        stop();
    }
    const auto refuse = [&](std::unexpected<Error> error) {
        counters_.start_failures.fetch_add(1, std::memory_order_relaxed);
        return error;
    };

    // Every check before the first vhost ioctl, so a refused setup leaves vhost untouched.
    if (queues.size() != kVhostNetQueues) {
        return refuse(fail("vhost-net: {} queues given; it carries exactly one rx and one tx queue",
                           queues.size()));
    }
    if (tap_fd < 0) {
        return refuse(fail("vhost-net: no TAP descriptor to attach"));
    }
    if (memory.regions().empty()) {
        return refuse(fail("vhost-net: guest memory has no regions"));
    }
    std::vector<RingHostAddresses> rings;
    for (unsigned index = 0; index < queues.size(); ++index) {
        auto translated = translate_rings(memory, index, queues[index]);
        if (!translated) {
            return refuse(std::unexpected(translated.error()));
        }
        rings.push_back(*translated);
    }
    int tap_header = 0;
    if (const int error = ioctls_->tap_vnet_header_size(tap_fd, tap_header); error != 0) {
        counters_.ioctl_failures.fetch_add(1, std::memory_order_relaxed);
        return refuse(fail("vhost-net: cannot read the TAP's virtio-net header length: {}",
                           std::strerror(error)));
    }
    if (tap_header != vnet_header_size(acked_features)) {
        return refuse(
            fail("vhost-net: the TAP carries a {}-byte virtio-net header, the driver's "
                 "features need {} (open it with IFF_VNET_HDR and TUNSETVNETHDRSZ)",
                 tap_header, vnet_header_size(acked_features)));
    }

    if (const int error = ioctls_->set_features(vhost_features_for(acked_features)); error != 0) {
        return refuse(ioctl_failed("VHOST_SET_FEATURES", -1, error));
    }
    // Guest-physical to userspace translations for every RAM region (two when RAM runs past the
    // PCI hole: below 3 GiB and from 4 GiB), so vhost can follow any descriptor's address.
    std::vector<vhost_memory_region> table;
    for (const MemoryRegion& region : memory.regions()) {
        table.push_back(
            vhost_memory_region{.guest_phys_addr = region.guest_base.value,
                                .memory_size = region.size,
                                .userspace_addr = reinterpret_cast<uint64_t>(region.host),
                                .flags_padding = 0});
    }
    if (const int error = ioctls_->set_mem_table(table); error != 0) {
        return refuse(ioctl_failed("VHOST_SET_MEM_TABLE", -1, error));
    }

    unsigned files_bound = 0;  // queues whose kick (and maybe call) vhost may hold
    const auto abort_start = [&](std::string_view ioctl, unsigned index, int error,
                                 unsigned backends_bound) {
        auto failure = ioctl_failed(ioctl, static_cast<int>(index), error);
        undo(backends_bound, files_bound);
        return refuse(std::move(failure));
    };
    for (unsigned index = 0; index < queues.size(); ++index) {
        const VhostQueueSetup& queue = queues[index];
        if (const int error = ioctls_->set_vring_num(index, queue.size); error != 0) {
            return abort_start("VHOST_SET_VRING_NUM", index, error, 0);
        }
        if (const int error = ioctls_->set_vring_base(index, queue.next_avail); error != 0) {
            return abort_start("VHOST_SET_VRING_BASE", index, error, 0);
        }
        const vhost_vring_addr addr{.index = index,
                                    .flags = 0,  // no dirty logging (no migration)
                                    .desc_user_addr = rings[index].desc,
                                    .used_user_addr = rings[index].used,
                                    .avail_user_addr = rings[index].avail,
                                    .log_guest_addr = 0};
        if (const int error = ioctls_->set_vring_addr(addr); error != 0) {
            return abort_start("VHOST_SET_VRING_ADDR", index, error, 0);
        }
        files_bound = index + 1;
        if (const int error = ioctls_->set_vring_kick(index, queue.kick_fd); error != 0) {
            return abort_start("VHOST_SET_VRING_KICK", index, error, 0);
        }
        if (const int error = ioctls_->set_vring_call(index, queue.call_fd); error != 0) {
            return abort_start("VHOST_SET_VRING_CALL", index, error, 0);
        }
        if (queue.err_fd >= 0) {
            err_bound_[index] = true;
            if (const int error = ioctls_->set_vring_err(index, queue.err_fd); error != 0) {
                return abort_start("VHOST_SET_VRING_ERR", index, error, 0);
            }
        }
        if (queue.busyloop_us != 0) {
            if (const int error = ioctls_->set_vring_busyloop_timeout(index, queue.busyloop_us);
                error != 0) {
                return abort_start("VHOST_SET_VRING_BUSYLOOP_TIMEOUT", index, error, 0);
            }
        }
    }
    for (unsigned index = 0; index < queues.size(); ++index) {
        if (const int error = ioctls_->net_set_backend(index, tap_fd); error != 0) {
            return abort_start("VHOST_NET_SET_BACKEND", index, error, index);
        }
    }
    running_ = true;
    queue_count_ = static_cast<unsigned>(queues.size());
    counters_.starts.fetch_add(1, std::memory_order_relaxed);

    // A kick the driver made before the backend was attached found vhost with nothing to do;
    // one more makes the worker look at both rings now (a spurious one finds them empty).
    for (const VhostQueueSetup& queue : queues) {
        if (const int error = ioctls_->signal_eventfd(queue.kick_fd); error != 0) {
            counters_.ioctl_failures.fetch_add(1, std::memory_order_relaxed);
            log::warn("vhost-net: cannot signal kick eventfd {}: {}", queue.kick_fd,
                      std::strerror(error));
        }
    }
    return {};
}

void VhostNet::warn_failed(std::string_view ioctl, unsigned index, int error) {
    log::warn("{}", ioctl_failed(ioctl, static_cast<int>(index), error).error().message);
}

void VhostNet::undo(unsigned backends, unsigned files) {
    for (unsigned index = 0; index < backends; ++index) {
        if (const int error = ioctls_->net_set_backend(index, -1); error != 0) {
            warn_failed("VHOST_NET_SET_BACKEND(-1)", index, error);
        }
    }
    for (unsigned index = 0; index < files; ++index) {
        if (const int error = ioctls_->set_vring_kick(index, -1); error != 0) {
            warn_failed("VHOST_SET_VRING_KICK(-1)", index, error);
        }
        if (const int error = ioctls_->set_vring_call(index, -1); error != 0) {
            warn_failed("VHOST_SET_VRING_CALL(-1)", index, error);
        }
        if (err_bound_[index]) {
            err_bound_[index] = false;
            if (const int error = ioctls_->set_vring_err(index, -1); error != 0) {
                warn_failed("VHOST_SET_VRING_ERR(-1)", index, error);
            }
        }
    }
}

VhostStopResult VhostNet::stop() {
    if (!running_) {
        return {};
    }
    running_ = false;
    // Detaching the TAP first makes the kernel finish and flush the worker's current pass, so
    // the index read next is final: every buffer before it has been used.
    for (unsigned index = 0; index < queue_count_; ++index) {
        if (const int error = ioctls_->net_set_backend(index, -1); error != 0) {
            warn_failed("VHOST_NET_SET_BACKEND(-1)", index, error);
        }
    }
    VhostStopResult next_avail(queue_count_);
    for (unsigned index = 0; index < queue_count_; ++index) {
        unsigned base = 0;
        if (const int error = ioctls_->get_vring_base(index, base); error != 0) {
            warn_failed("VHOST_GET_VRING_BASE", index, error);
            continue;
        }
        next_avail[index] = static_cast<uint16_t>(base);
    }
    undo(0, queue_count_);
    queue_count_ = 0;
    counters_.stops.fetch_add(1, std::memory_order_relaxed);
    return next_avail;
}

VhostNetCountersSnapshot VhostNet::counters() const {
    return VhostNetCountersSnapshot{
        .starts = counters_.starts.load(std::memory_order_relaxed),
        .start_failures = counters_.start_failures.load(std::memory_order_relaxed),
        .stops = counters_.stops.load(std::memory_order_relaxed),
        .ioctl_failures = counters_.ioctl_failures.load(std::memory_order_relaxed),
    };
}

Result<std::unique_ptr<VhostNet>> open_vhost_net(VhostMode mode, std::string_view nic_label,
                                                 const std::string& path) {
    if (mode == VhostMode::kOff) {
        return std::unique_ptr<VhostNet>();
    }
    auto opened = [&]() -> Result<std::unique_ptr<VhostNet>> {
        auto ioctls = HVMM_TRY(KernelVhostIoctls::open(path));
        return VhostNet::create(std::move(ioctls));
    }();
    if (opened) {
        log::info("{}: vhost-net on {}", nic_label, path);
        return opened;
    }
    if (mode == VhostMode::kOn) {
        return fail("{}: {}", nic_label, opened.error().message);
    }
    log::info("{}: vhost unavailable ({}); using the userspace data path", nic_label,
              opened.error().message);
    return std::unique_ptr<VhostNet>();
}

}  // namespace hvmm::virtio
