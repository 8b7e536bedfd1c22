#include "net/tap/tap_backend.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>

#include "base/log.h"
#include "net/frame_limits.h"
#include "net/retire_fd.h"
#include "base/syscall_count.h"

namespace hvmm {
namespace {

// The kernel reports a tun fd whose interface was deleted under it this way.
bool is_detached_error(int error) {
    return error == EBADFD || error == ENODEV || error == ENXIO;
}

void bump(std::atomic<uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
}

Result<ifreq> interface_request(std::string_view name) {
    ifreq request{};
    if (name.empty() || name.size() >= IFNAMSIZ) {
        return fail("TAP name '{}' must be 1 to {} characters", name, IFNAMSIZ - 1);
    }
    std::memcpy(request.ifr_name, name.data(), name.size());
    return request;
}

// TUNSETOFFLOAD's argument for a set of offloads.
unsigned tun_offload_flags(const net::NetOffloads& offloads) {
    unsigned flags = 0;
    flags |= offloads.checksum ? TUN_F_CSUM : 0;
    flags |= offloads.tso4 ? TUN_F_TSO4 : 0;
    flags |= offloads.tso6 ? TUN_F_TSO6 : 0;
    flags |= offloads.tso_ecn ? TUN_F_TSO_ECN : 0;
    return flags;
}

// IFF_VNET_HDR with an explicit header size and no receive offloads yet (see the header).
Result<void> set_up_vnet_header(int tap, std::string_view name) {
    int size = static_cast<int>(net::kVnetHeaderSize);
    if (::ioctl(tap, TUNSETVNETHDRSZ, &size) != 0) {
        return fail_errno("cannot set the virtio-net header size of TAP '{}'", name);
    }
    if (::ioctl(tap, TUNSETOFFLOAD, 0u) != 0) {
        return fail_errno("cannot clear the offloads of TAP '{}'", name);
    }
    return {};
}

}  // namespace

Result<void> TapBackend::set_receive_offloads(const net::NetOffloads& offloads) {
    if (vnet_header_size_ == 0) {
        return fail("TAP {} was opened without a virtio-net header: it takes no offloads", name_);
    }
    const unsigned flags = tun_offload_flags(offloads);
    if (::ioctl(tap_.get(), TUNSETOFFLOAD, flags) != 0) {
        return fail_errno("cannot set the offloads of TAP '{}' to {:#x}", name_, flags);
    }
    return {};
}

Result<std::unique_ptr<TapBackend>> TapBackend::open(std::string_view name, TapOptions options) {
    ifreq request = HVMM_TRY(interface_request(name));
    const std::string owned_name(name);
    // Whether it exists decides who owns it: TUNSETIFF creates a missing one silently.
    const bool existed = ::if_nametoindex(owned_name.c_str()) != 0;

    UniqueFd tap(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!tap) {
        return fail("cannot open /dev/net/tun: {} (is the tun module loaded? are you root?)",
                    std::strerror(errno));
    }
    request.ifr_flags = IFF_TAP | IFF_NO_PI | (options.vnet_header ? IFF_VNET_HDR : 0);
    if (::ioctl(tap.get(), TUNSETIFF, &request) != 0) {
        const int error = errno;
        if (error == EBUSY) {
            return fail("cannot attach to TAP '{}': another process has it open", name);
        }
        if (error == EPERM) {
            return fail(
                "cannot attach to TAP '{}': {} (it belongs to another user; run as "
                "root or its owner)",
                name, std::strerror(error));
        }
        if (error == EINVAL && existed) {
            return fail(
                "cannot attach to '{}': {} (is it a TAP device, not TUN or another kind "
                "of interface?)",
                name, std::strerror(error));
        }
        return fail("cannot {} TAP '{}': {}", existed ? "attach to" : "create", name,
                    std::strerror(error));
    }

    if (options.vnet_header) {
        HVMM_TRY_VOID(set_up_vnet_header(tap.get(), name));
    }

    UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!control) {
        return fail_errno("cannot open a socket to manage TAP '{}'", name);
    }
    auto backend = std::unique_ptr<TapBackend>(
        new TapBackend(owned_name, std::move(tap), std::move(control), !existed,
                       options.vnet_header ? net::kVnetHeaderSize : 0));
    if (!existed) {
        // A TAP we made is ours to bring up; one someone else made keeps its admin state.
        ifreq flags = HVMM_TRY(interface_request(name));
        if (::ioctl(backend->control_.get(), SIOCGIFFLAGS, &flags) != 0) {
            return fail_errno("cannot read the flags of TAP '{}'", name);
        }
        flags.ifr_flags |= IFF_UP;
        if (::ioctl(backend->control_.get(), SIOCSIFFLAGS, &flags) != 0) {
            return fail_errno("cannot bring TAP '{}' up", name);
        }
    }
    backend->refresh_link();
    return backend;
}

TapBackend::TapBackend(std::string name, UniqueFd tap, UniqueFd control, bool created,
                       size_t vnet_header_size)
    : name_(std::move(name)),
      description_(fmt::format("tap:{}{}", name_, created ? " (created)" : "")),
      tap_(std::move(tap)),
      control_(std::move(control)),
      created_(created),
      vnet_header_size_(vnet_header_size),
      buffer_(net::kMaxFrameSize + vnet_header_size) {}

std::vector<NamedCount> TapBackend::named_counts() const {
    auto load = [](const std::atomic<uint64_t>& counter) {
        return counter.load(std::memory_order_relaxed);
    };
    std::vector<NamedCount> counts = named_totals(counters_.snapshot());
    counts.insert(counts.end(), {{"tx_link_down", load(causes_.tx_link_down)},
                                 {"tx_host_busy", load(causes_.tx_host_busy)},
                                 {"tx_detached", load(causes_.tx_detached)},
                                 {"tx_errors", load(causes_.tx_errors)},
                                 {"rx_runts", load(causes_.rx_runts)},
                                 {"rx_no_sink", load(causes_.rx_no_sink)}});
    return counts;
}

void TapBackend::send(std::span<const iovec> frame) {
    if (detached_.load(std::memory_order_relaxed)) {
        counters_.count_tx_dropped();
        bump(causes_.tx_detached);
        return;
    }
    stats::count_syscall();
    const ssize_t written = ::writev(tap_.get(), frame.data(), static_cast<int>(frame.size()));
    if (written < 0) {
        // EIO: the interface is down; EAGAIN/ENOBUFS: the host is not keeping up. Both drop
        // the frame like a congested wire. Anything else is unexpected but still not the
        // guest's fault, so it is counted and reported at a limited rate.
        const int error = errno;
        counters_.count_tx_dropped();
        if (is_detached_error(error)) {
            bump(causes_.tx_detached);
            note_detached();
        } else if (error == EIO) {
            bump(causes_.tx_link_down);
        } else if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
            bump(causes_.tx_host_busy);
        } else {
            bump(causes_.tx_errors);
            static log::RateLimitedWarning warning;
            warning("TAP {}: send failed: {}", name_, std::strerror(error));
        }
        return;
    }
    // Counted as Ethernet bytes, like every other backend's: a vnet header is not traffic.
    const auto bytes = static_cast<size_t>(written);
    counters_.count_tx(bytes > vnet_header_size_ ? bytes - vnet_header_size_ : 0);
}

size_t TapBackend::poll_receive() {
    size_t delivered = 0;
    while (delivered < net::kMaxFramesPerPoll && !detached_.load(std::memory_order_relaxed)) {
        // With a full sink the frames wait in the TAP's queue (back-pressure; the kernel drops
        // beyond txqueuelen). With no sink at all nobody could take them: drain and count.
        if (sink_ != nullptr && !sink_->can_receive()) {
            break;
        }
        stats::count_syscall();
        const ssize_t length = ::read(tap_.get(), buffer_.data(), buffer_.size());
        if (length < 0) {
            const int error = errno;
            if (is_detached_error(error)) {
                note_detached();
            } else if (error != EAGAIN && error != EWOULDBLOCK && error != EINTR) {
                static log::RateLimitedWarning warning;
                warning("TAP {}: receive failed: {}", name_, std::strerror(error));
            }
            break;
        }
        const auto size = static_cast<size_t>(length);
        const bool runt = size < vnet_header_size_ + net::kEthernetHeaderSize;
        if (runt || sink_ == nullptr) {
            counters_.count_rx_dropped();
            bump(runt ? causes_.rx_runts : causes_.rx_no_sink);
            continue;
        }
        counters_.count_rx(size - vnet_header_size_);
        sink_->receive(std::span<const uint8_t>(buffer_.data(), size));
        ++delivered;
    }
    if (detached_.load(std::memory_order_relaxed)) {
        refresh_link();
    }
    return delivered;
}

void TapBackend::refresh_link() {
    bool up = false;
    if (!detached_.load(std::memory_order_relaxed)) {
        // Ask the fd which interface it drives: that fails only once the interface is deleted,
        // and it follows a rename, where asking by the name we opened would not.
        ifreq request{};
        if (::ioctl(tap_.get(), TUNGETIFF, &request) != 0) {
            note_detached();
        } else if (::ioctl(control_.get(), SIOCGIFFLAGS, &request) == 0) {
            up = (request.ifr_flags & IFF_UP) != 0;
        }
    }
    if (up != link_up_.exchange(up, std::memory_order_relaxed)) {
        log::info("TAP {}: link {}", name_, up ? "up" : "down");
    }
    if (sink_ != nullptr && up != reported_link_up_) {
        reported_link_up_ = up;
        sink_->link_changed(up);
    }
}

void TapBackend::note_detached() {
    if (!detached_.exchange(true, std::memory_order_relaxed)) {
        link_up_.store(false, std::memory_order_relaxed);
        net::retire_fd(tap_.get());
        log::warn("TAP {} is gone: its link is down until hvmm is restarted", name_);
    }
}

}  // namespace hvmm
