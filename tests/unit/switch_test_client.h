// A stream client of `hvmm switch` for tests: connects to the switch's socket, sends frames in
// QEMU's stream framing and reads them back with the project's decoder, the way a VM would.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "net/mac_address.h"
#include "net/stream_framing.h"

namespace hvmm::testing {

inline std::vector<uint8_t> ethernet_frame(const MacAddress& destination, const MacAddress& source,
                                           size_t payload = 50, uint8_t fill = 0xAB) {
    std::vector<uint8_t> frame(destination.bytes.begin(), destination.bytes.end());
    frame.insert(frame.end(), source.bytes.begin(), source.bytes.end());
    frame.push_back(0x88);  // EtherType 0x88B5: local experimental, nobody parses it
    frame.push_back(0xB5);
    frame.insert(frame.end(), payload, fill);
    return frame;
}

inline MacAddress station(uint8_t last, uint8_t fifth = 0) {
    return MacAddress{{0x52, 0x54, 0x00, 0x00, fifth, last}};
}

class SwitchClient {
  public:
    // CLOEXEC so a daemon the test starts later does not inherit (and keep open) this end.
    static std::optional<SwitchClient> connect(const std::string& path) {
        UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            return std::nullopt;
        }
        return SwitchClient(std::move(fd));
    }

    bool send_raw(const void* data, size_t size) {
        const auto* bytes = static_cast<const uint8_t*>(data);
        while (size > 0) {
            const ssize_t n = ::send(fd_.get(), bytes, size, MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            bytes += n;
            size -= static_cast<size_t>(n);
        }
        return true;
    }
    bool send_frame(const std::vector<uint8_t>& frame) {
        const auto header = net::encode_stream_header(frame.size(), UINT32_MAX);
        return header && send_raw(header->data(), header->size()) &&
               send_raw(frame.data(), frame.size());
    }

    // The next frame, or nothing after `timeout` without one.
    std::optional<std::vector<uint8_t>> read_frame(
        std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            const auto frame = decoder_.next();
            if (!frame) {
                return std::nullopt;
            }
            if (*frame) {
                return std::vector<uint8_t>((*frame)->begin(), (*frame)->end());
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{fd_.get(), POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                return std::nullopt;
            }
            const auto space = decoder_.writable();
            const ssize_t n = ::recv(fd_.get(), space.data(), space.size(), 0);
            if (n <= 0) {
                return std::nullopt;
            }
            decoder_.commit(static_cast<size_t>(n));
        }
    }
    // Frames until none comes within `quiet`.
    std::vector<std::vector<uint8_t>> drain(
        std::chrono::milliseconds quiet = std::chrono::milliseconds(200)) {
        std::vector<std::vector<uint8_t>> frames;
        while (auto frame = read_frame(quiet)) frames.push_back(std::move(*frame));
        return frames;
    }
    int fd() const { return fd_.get(); }
    void close() { fd_.reset(); }

  private:
    explicit SwitchClient(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
    net::StreamDecoder decoder_;
};

}  // namespace hvmm::testing
