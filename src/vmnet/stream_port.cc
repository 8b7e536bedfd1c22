#include "vmnet/stream_port.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <fstream>

#include <fmt/core.h>

namespace hvmm::vmnet {
namespace {

bool would_block(int error) {
    return error == EAGAIN || error == EWOULDBLOCK;
}

// sendmsg rather than writev: MSG_NOSIGNAL, so a peer gone mid-write is EPIPE, never SIGPIPE.
ssize_t send_parts(int fd, const iovec* parts, size_t count) {
    msghdr message{};
    message.msg_iov = const_cast<iovec*>(parts);
    message.msg_iovlen = count;
    ssize_t n;
    do {
        n = ::sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    return n;
}

}  // namespace

StreamPort::StreamPort(PortId id, UniqueFd connection, PortHost& host, std::string peer,
                       StreamPortLimits limits)
    : id_(id),
      connection_(std::move(connection)),
      host_(host),
      peer_(std::move(peer)),
      decoder_(limits.max_frame),
      queue_(limits.send_queue_bytes, limits.max_frame) {}

void StreamPort::fail(std::string_view why) {
    if (!failed_) {
        failed_ = true;
        host_.close_port(id_, why);
    }
}

void StreamPort::send(std::span<const uint8_t> frame) {
    if (failed_) {
        return;
    }
    const auto header = net::encode_stream_header(frame.size(), queue_.max_frame());
    if (!header) {
        return;  // the fabric never forwards such a frame; nothing to put on the wire
    }
    const iovec parts[2] = {{const_cast<uint8_t*>(header->data()), header->size()},
                            {const_cast<uint8_t*>(frame.data()), frame.size()}};
    const std::span<const iovec> body(&parts[1], 1);
    if (!queue_.empty()) {
        // Order matters more than latency: behind what is queued, or dropped whole.
        if (queue_.push(body) == net::StreamSendQueue::Push::kFull) {
            ++counters_.tx_queue_full;
            return;
        }
    } else {
        const ssize_t written = send_parts(connection_.get(), parts, 2);
        if (written < 0 && !would_block(errno)) {
            ++counters_.tx_failed;
            fail(fmt::format("send failed: {}", std::strerror(errno)));
            return;
        }
        const auto done = static_cast<size_t>(std::max<ssize_t>(written, 0));
        if (done < header->size() + frame.size()) {
            // The rest of a frame begun must follow before anything else; the queue is empty
            // and holds at least one largest frame, so this always fits.
            queue_.push_unsent(body, done);
            host_.want_writable(id_, true);
        }
    }
    ++counters_.tx_frames;
    counters_.tx_bytes += frame.size();
}

void StreamPort::flush() {
    while (!queue_.empty()) {
        iovec parts[2];
        const size_t count = queue_.gather(parts);
        const ssize_t written = send_parts(connection_.get(), parts, count);
        if (written < 0) {
            if (would_block(errno)) {
                return;  // still watched for EPOLLOUT
            }
            ++counters_.tx_failed;
            fail(fmt::format("send failed: {}", std::strerror(errno)));
            return;
        }
        queue_.consume(static_cast<size_t>(written));
    }
    host_.want_writable(id_, false);
}

void StreamPort::receive() {
    for (int reads = 0; reads < kMaxReadsPerEvent && !failed_; ++reads) {
        const std::span<uint8_t> space = decoder_.writable();
        if (space.empty()) {
            return;  // cannot happen after next() drained it; never spin on it
        }
        ssize_t n;
        do {
            n = ::recv(connection_.get(), space.data(), space.size(), MSG_DONTWAIT);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            if (!would_block(errno)) {
                fail(fmt::format("receive failed: {}", std::strerror(errno)));
            }
            return;
        }
        if (n == 0) {
            const auto finished = decoder_.finish();
            if (!finished && finished.error() == net::StreamError::kTruncated) {
                ++counters_.rx_truncated;
                fail("peer closed mid-frame");
            } else {
                fail("peer closed");
            }
            return;
        }
        decoder_.commit(static_cast<size_t>(n));
        while (true) {
            const auto frame = decoder_.next();
            if (!frame) {
                ++counters_.rx_bad_length;
                fail(fmt::format("garbage from peer: {}", net::to_string(frame.error())));
                return;
            }
            if (!*frame) {
                break;
            }
            host_.ingress(id_, **frame);
        }
        if (static_cast<size_t>(n) < space.size()) {
            return;  // the socket is drained for now
        }
    }
}

void StreamPort::handle_events(uint32_t events) {
    if (failed_) {
        return;
    }
    if (events & EPOLLOUT) {
        flush();
    }
    // EPOLLHUP/EPOLLERR: reading finds the end (or the error) and closes in order, after the
    // whole frames still buffered were forwarded.
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
        receive();
    }
}

std::string describe_unix_peer(int fd) {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0 ||
        credentials.pid <= 0) {
        return "unknown peer";
    }
    std::ifstream comm(fmt::format("/proc/{}/comm", credentials.pid));
    std::string name;
    std::getline(comm, name);
    return name.empty() ? fmt::format("pid {}", credentials.pid)
                        : fmt::format("pid {} ({})", credentials.pid, name);
}

}  // namespace hvmm::vmnet
