// Helpers for the socket backend tests: a FrameSink that the event loop's thread fills while the
// test thread watches it, the NIC wiring's receive path around a real EventLoop on its own
// thread, and a peer that speaks QEMU's stream framing by hand.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/event_fd.h"
#include "base/event_loop.h"
#include "base/unique_fd.h"
#include "net/net_backend.h"

namespace hvmm::testing {

// Thread-safe: the loop thread delivers, the test thread looks.
class SharedSink final : public FrameSink {
  public:
    bool can_receive() override {
        std::lock_guard lock(mutex_);
        return accepting_;
    }
    void receive(std::span<const uint8_t> frame) override {
        std::lock_guard lock(mutex_);
        frames_.emplace_back(frame.begin(), frame.end());
    }
    void link_changed(bool up) override {
        std::lock_guard lock(mutex_);
        links_.push_back(up);
    }
    void set_accepting(bool accepting) {
        std::lock_guard lock(mutex_);
        accepting_ = accepting;
    }
    std::vector<std::vector<uint8_t>> frames() const {
        std::lock_guard lock(mutex_);
        return frames_;
    }
    size_t frame_count() const {
        std::lock_guard lock(mutex_);
        return frames_.size();
    }
    std::vector<bool> links() const {
        std::lock_guard lock(mutex_);
        return links_;
    }
    // The link as the sink sees it (it starts out assuming up).
    bool link() const {
        std::lock_guard lock(mutex_);
        return links_.empty() || links_.back();
    }

  private:
    mutable std::mutex mutex_;
    bool accepting_ = true;
    std::vector<std::vector<uint8_t>> frames_;
    std::vector<bool> links_;
};

template <class Predicate>
bool eventually(Predicate predicate,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (predicate()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return predicate();
}

// The NIC wiring's receive side (vmm/nic_wiring.cc) around a real EventLoop on its own thread,
// which plays the I/O thread: a level-triggered watch on receive_fd() that stops watching while
// the sink is full (unless the backend's fd pauses itself), a resume eventfd that polls and
// watches again, and the link timer.
// With pause_watch false the watch stays on while the sink is full, so a test sees whether the
// backend's fd itself goes quiet.
class LoopRig {
  public:
    explicit LoopRig(NetBackend& backend, FrameSink& sink, bool pause_watch = true)
        : backend_(backend), sink_(sink) {
        auto loop = EventLoop::create();
        EXPECT_TRUE(loop);
        loop_ = std::move(*loop);
        auto resume = EventFd::create();
        EXPECT_TRUE(resume);
        resume_.emplace(std::move(*resume));
        backend_.set_sink(&sink_);
        const int fd = backend_.receive_fd();
        EXPECT_TRUE(loop_->add_fd(fd, [this, fd, pause_watch](uint32_t) {
            ++wakeups_;
            if (backend_.poll_receive() == 0 && !sink_.can_receive() && pause_watch &&
                !backend_.receive_fd_pauses_itself()) {
                if (loop_->modify_fd(fd, 0))
                    watching_ = false;
            }
        }));
        EXPECT_TRUE(loop_->add_fd(resume_->fd(), [this, fd](uint32_t) {
            resume_->consume();
            backend_.poll_receive();
            if (!watching_ && loop_->modify_fd(fd, 0x001 /* EPOLLIN */))
                watching_ = true;
        }));
        EXPECT_TRUE(
            loop_->add_timer(std::chrono::milliseconds(500), [this] { backend_.refresh_link(); }));
        thread_ = std::thread([this] { loop_->run(); });
    }
    ~LoopRig() {
        loop_->stop();
        thread_.join();
    }
    // What a NIC does on the chip's receive_resumed event when the guest gives it buffers again.
    void resume() { resume_->signal(); }
    uint64_t wakeups() const { return wakeups_.load(); }

  private:
    NetBackend& backend_;
    FrameSink& sink_;
    std::unique_ptr<EventLoop> loop_;
    std::optional<EventFd> resume_;
    bool watching_ = true;  // loop thread only
    std::atomic<uint64_t> wakeups_{0};
    std::thread thread_;
};

// A directory of its own under the system's temporary directory, removed afterwards.
class TempDir {
  public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "hvmm-sock-XXXXXX").string();
        EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
        path_ = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

  private:
    std::string path_;
};

inline sockaddr_un unix_sockaddr(const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return address;
}

inline UniqueFd unix_socket(int type) {
    return UniqueFd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
}

inline UniqueFd connect_to(const std::string& path, int type = SOCK_STREAM) {
    UniqueFd fd = unix_socket(type);
    const sockaddr_un address = unix_sockaddr(path);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        return UniqueFd();
    }
    return fd;
}

inline UniqueFd bind_at(const std::string& path, int type) {
    UniqueFd fd = unix_socket(type);
    const sockaddr_un address = unix_sockaddr(path);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0)
        << path << ": " << std::strerror(errno);
    return fd;
}

inline UniqueFd listen_at(const std::string& path) {
    UniqueFd fd = bind_at(path, SOCK_STREAM);
    EXPECT_EQ(::listen(fd.get(), 4), 0);
    return fd;
}

inline bool wait_readable(int fd, std::chrono::milliseconds timeout) {
    pollfd entry{.fd = fd, .events = POLLIN, .revents = 0};
    return ::poll(&entry, 1, static_cast<int>(timeout.count())) > 0;
}

inline UniqueFd accept_from(int listener,
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    if (!wait_readable(listener, timeout)) {
        return UniqueFd();
    }
    return UniqueFd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

inline void write_all(int fd, std::span<const uint8_t> bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        ASSERT_GT(n, 0) << std::strerror(errno);
        bytes = bytes.subspan(static_cast<size_t>(n));
    }
}

// QEMU's framing, written by hand: the length as 4 bytes, most significant first.
inline std::vector<uint8_t> length_prefix(uint32_t length) {
    return {static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
            static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
}

inline std::vector<uint8_t> framed(const std::vector<uint8_t>& frame) {
    std::vector<uint8_t> bytes = length_prefix(static_cast<uint32_t>(frame.size()));
    bytes.insert(bytes.end(), frame.begin(), frame.end());
    return bytes;
}

// Reads exactly n bytes, or fewer if the peer closes or nothing comes for `timeout`.
inline std::vector<uint8_t> read_exactly(
    int fd, size_t n, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::vector<uint8_t> bytes(n);
    size_t got = 0;
    while (got < n && wait_readable(fd, timeout)) {
        const ssize_t r = ::recv(fd, bytes.data() + got, n - got, 0);
        if (r <= 0) {
            break;
        }
        got += static_cast<size_t>(r);
    }
    bytes.resize(got);
    return bytes;
}

// One frame in QEMU's framing, or nothing on a timeout or close.
inline std::optional<std::vector<uint8_t>> read_framed(
    int fd, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    const auto prefix = read_exactly(fd, 4, timeout);
    if (prefix.size() != 4) {
        return std::nullopt;
    }
    const uint32_t length = uint32_t{prefix[0]} << 24 | uint32_t{prefix[1]} << 16 |
                            uint32_t{prefix[2]} << 8 | uint32_t{prefix[3]};
    auto frame = read_exactly(fd, length, timeout);
    if (frame.size() != length) {
        return std::nullopt;
    }
    return frame;
}

// True when the peer has closed: a read returns 0 (or a reset) within the timeout.
inline bool peer_closed(int fd,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    if (!wait_readable(fd, timeout)) {
        return false;
    }
    uint8_t byte;
    const ssize_t r = ::recv(fd, &byte, 1, MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno == ECONNRESET);
}

}  // namespace hvmm::testing
