#include "net/socket/dgram_backend.h"

#include <sys/socket.h>

#include <cstring>

#include "base/syscall_count.h"

namespace hvmm {

struct DgramBackend::Detail {
    std::atomic<uint64_t> rx_oversize{0};
    std::atomic<uint64_t> rx_zero_length{0};
    std::atomic<uint64_t> rx_runts{0};
    std::atomic<uint64_t> rx_no_sink{0};
    std::atomic<uint64_t> tx_no_peer{0};
    std::atomic<uint64_t> tx_peer_busy{0};
    std::atomic<uint64_t> tx_invalid{0};
    std::atomic<uint64_t> tx_errors{0};
};

namespace {

void bump(std::atomic<uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

Result<std::unique_ptr<DgramBackend>> DgramBackend::open(std::string_view local,
                                                         std::string_view remote,
                                                         size_t max_frame) {
    const net::UnixAddress remote_address = HVMM_TRY(net::unix_address(remote));
    HVMM_TRY_VOID(net::check_not_other_file(remote));
    if (local == remote) {
        return fail("dgram: LOCAL and REMOTE are both '{}'; they must differ", local);
    }
    UniqueFd socket(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket) {
        return fail_errno("cannot create a datagram socket for '{}'", local);
    }
    net::BoundSocketPath bound = HVMM_TRY(net::bind_socket_path(socket.get(), local, SOCK_DGRAM));
    // The largest frame must fit one datagram on the way out; the kernel's default send buffer
    // usually allows it, and raising it is only a request.
    const int wanted = static_cast<int>(std::min<size_t>(max_frame * 4, 1 << 20));
    ::setsockopt(socket.get(), SOL_SOCKET, SO_SNDBUF, &wanted, sizeof wanted);
    return std::unique_ptr<DgramBackend>(
        new DgramBackend(std::move(socket), std::move(bound), remote_address, max_frame,
                         fmt::format("dgram:{},{}", local, remote)));
}

DgramBackend::DgramBackend(UniqueFd socket, net::BoundSocketPath bound, net::UnixAddress remote,
                           size_t max_frame, std::string description)
    : socket_(std::move(socket)),
      bound_(std::move(bound)),
      remote_(remote),
      max_frame_(std::max<size_t>(max_frame, 1)),
      description_(std::move(description)),
      buffer_(max_frame_),
      detail_(std::make_unique<Detail>()) {}

DgramBackend::~DgramBackend() = default;

DgramBackendStats DgramBackend::dgram_stats() const {
    auto load = [](const std::atomic<uint64_t>& counter) {
        return counter.load(std::memory_order_relaxed);
    };
    const Detail& d = *detail_;
    return DgramBackendStats{.totals = counters_.snapshot(),
                             .rx_oversize = load(d.rx_oversize),
                             .rx_zero_length = load(d.rx_zero_length),
                             .rx_runts = load(d.rx_runts),
                             .rx_no_sink = load(d.rx_no_sink),
                             .tx_no_peer = load(d.tx_no_peer),
                             .tx_peer_busy = load(d.tx_peer_busy),
                             .tx_invalid = load(d.tx_invalid),
                             .tx_errors = load(d.tx_errors)};
}

std::vector<NamedCount> DgramBackend::named_counts() const {
    const DgramBackendStats s = dgram_stats();
    std::vector<NamedCount> counts = named_totals(s.totals);
    counts.insert(counts.end(), {{"rx_oversize", s.rx_oversize},
                                 {"rx_zero_length", s.rx_zero_length},
                                 {"rx_runts", s.rx_runts},
                                 {"rx_no_sink", s.rx_no_sink},
                                 {"tx_no_peer", s.tx_no_peer},
                                 {"tx_peer_busy", s.tx_peer_busy},
                                 {"tx_invalid", s.tx_invalid},
                                 {"tx_errors", s.tx_errors}});
    return counts;
}

void DgramBackend::send(std::span<const iovec> frame) {
    const size_t length = net::frame_length(frame);
    if (length == 0 || length > max_frame_) {
        counters_.count_tx_dropped();
        bump(detail_->tx_invalid);
        return;
    }
    msghdr message{};
    message.msg_name = const_cast<sockaddr*>(remote_.get());
    message.msg_namelen = remote_.length;
    message.msg_iov = const_cast<iovec*>(frame.data());
    message.msg_iovlen = frame.size();
    stats::count_syscall();
    if (::sendmsg(socket_.get(), &message, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
        counters_.count_tx(length);
        return;
    }
    const int error = errno;
    counters_.count_tx_dropped();
    if (error == ECONNREFUSED || error == ENOENT) {
        // The peer is not up (yet, or any more). QEMU drops such frames too; the warning is
        // rate-limited because a guest sends many frames while its peer is away.
        bump(detail_->tx_no_peer);
        no_peer_warning_("dgram {}: no peer bound at '{}'; frames dropped", bound_.path(),
                         remote_.address.sun_path);
    } else if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
        bump(detail_->tx_peer_busy);  // a full queue at the peer: a congested wire, no warning
    } else {
        bump(detail_->tx_errors);
        error_warning_("dgram {}: send failed: {}", bound_.path(), std::strerror(error));
    }
}

size_t DgramBackend::poll_receive() {
    size_t delivered = 0;
    // Dropped datagrams count against the bound too, so a flood of junk cannot hold the loop.
    for (size_t handled = 0; handled < net::kMaxFramesPerPoll; ++handled) {
        // A full sink leaves datagrams in the socket's queue (back-pressure; the peer then sees
        // EAGAIN); with no sink at all, drain and count.
        if (sink_ != nullptr && !sink_->can_receive()) {
            break;
        }
        stats::count_syscall();
        // MSG_TRUNC: the datagram's real length even when it did not fit the buffer.
        const ssize_t length =
            ::recv(socket_.get(), buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
        if (length < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                error_warning_("dgram {}: receive failed: {}", bound_.path(), std::strerror(errno));
            }
            break;
        }
        const auto size = static_cast<size_t>(length);
        if (size == 0 || size > max_frame_ || size < net::kEthernetHeaderSize || sink_ == nullptr) {
            counters_.count_rx_dropped();
            bump(size == 0                         ? detail_->rx_zero_length
                 : size > max_frame_               ? detail_->rx_oversize
                 : size < net::kEthernetHeaderSize ? detail_->rx_runts
                                                   : detail_->rx_no_sink);
            continue;
        }
        counters_.count_rx(size);
        sink_->receive(std::span<const uint8_t>(buffer_.data(), size));
        ++delivered;
    }
    return delivered;
}

}  // namespace hvmm
