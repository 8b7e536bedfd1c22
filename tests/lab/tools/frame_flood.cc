// A hostile peer for the lab's switch check: joins a switch (or any QEMU -netdev stream peer) at
// a Unix socket and sends COUNT broadcast frames, each from a new random source MAC (locally
// administered unicast), in QEMU's stream framing (a 4-byte big-endian length before each frame).
// A learning switch must keep its MAC table bounded and the other ports' traffic flowing.
//
// usage: frame_flood SOCKET COUNT [HOLD_SECONDS]   (stays connected that long after the flood, or
//        until SIGTERM, so the switch's table can be looked at while the flooding port is still
//        there however slowly a busy lab answers; a SIGTERM during the hold is a normal end)
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

bool write_all(int fd, const uint8_t* data, size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 && argc != 4) {
        std::fprintf(stderr, "usage: frame_flood SOCKET COUNT [HOLD_SECONDS]\n");
        return 2;
    }
    // SIGTERM is taken synchronously in the hold below, never as a kill mid-flood.
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, nullptr);
    const std::string path = argv[1];
    const long count = std::strtol(argv[2], nullptr, 10);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path) || count <= 0) {
        std::fprintf(stderr, "frame_flood: bad socket path or count\n");
        return 2;
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        std::fprintf(stderr, "frame_flood: cannot connect to %s: %s\n", path.c_str(), std::strerror(errno));
        return 1;
    }
    std::mt19937_64 random(std::random_device{}());
    constexpr size_t kFrameSize = 60;
    std::array<uint8_t, 4 + kFrameSize> record{};
    record[3] = kFrameSize;  // big-endian length
    uint8_t* frame = record.data() + 4;
    std::memset(frame, 0xff, 6);  // broadcast
    frame[12] = 0x88;             // IEEE 802 local experimental EtherType
    frame[13] = 0xb5;
    for (long i = 0; i < count; ++i) {
        const uint64_t bits = random();
        for (int b = 0; b < 6; ++b) frame[6 + b] = static_cast<uint8_t>(bits >> (8 * b));
        frame[6] = static_cast<uint8_t>((frame[6] & 0xfc) | 0x02);  // unicast, locally administered
        if (!write_all(fd, record.data(), record.size())) {
            std::fprintf(stderr, "frame_flood: the peer closed after %ld frames\n", i);
            return 1;
        }
    }
    std::printf("frame_flood: sent %ld frames from random source MACs\n", count);
    std::fflush(stdout);
    if (argc == 4) {
        const timespec hold{.tv_sec = static_cast<time_t>(std::strtoul(argv[3], nullptr, 10)), .tv_nsec = 0};
        while (sigtimedwait(&term, nullptr, &hold) < 0 && errno == EINTR) {
        }
    }
    ::close(fd);
    return 0;
}
