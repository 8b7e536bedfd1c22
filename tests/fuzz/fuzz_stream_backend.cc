// Fuzz target for StreamBackend's receive side over a real socket: the input becomes a byte
// stream (mostly well-formed frames, with runts, zero and oversize lengths and a cut-off tail
// mixed in) that a peer writes in input-chosen chunks, while the NIC's sink refuses and accepts
// frames at input-chosen moments. Whatever arrives, the backend must deliver exactly the
// reference's frames of Ethernet size in order, count the runts, and end the connection with the
// one counter the stream earns (zero length, oversize, truncated, or none), its link down. One
// listener serves every input, so each input's peer is also a reconnect after the last.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "net/socket/stream_backend.h"
#include "fuzz_input.h"

namespace {

using Bytes = std::vector<uint8_t>;
constexpr size_t kMaxFrame = 1600;
constexpr size_t kMaxStream = 128 * 1024;

using hvmm::fuzz::check;

class Sink final : public hvmm::FrameSink {
  public:
    bool can_receive() override { return accepting; }
    void receive(std::span<const uint8_t> frame) override {
        check(accepting, "a frame delivered to a sink that refused");
        frames.emplace_back(frame.begin(), frame.end());
    }
    void link_changed(bool up) override { link = up; }
    bool accepting = true;
    bool link = true;
    std::vector<Bytes> frames;
};

struct Fixture {
    std::string directory;
    std::string path;
    std::unique_ptr<hvmm::StreamBackend> backend;
    Sink sink;

    Fixture() {
        char pattern[] = "/tmp/hvmm-fuzz-stream-XXXXXX";
        check(::mkdtemp(pattern) != nullptr, "mkdtemp");
        directory = pattern;
        path = directory + "/net.sock";
        auto made = hvmm::StreamBackend::listen(path, {.max_frame = kMaxFrame});
        check(made.has_value(), "listen");
        backend = std::move(*made);
        backend->set_sink(&sink);
    }
    ~Fixture() {
        backend.reset();
        ::rmdir(directory.c_str());
    }
};

Fixture& fixture() {
    static Fixture instance;
    return instance;
}

void put_prefix(Bytes& stream, uint32_t length) {
    stream.insert(stream.end(), {uint8_t(length >> 24), uint8_t(length >> 16), uint8_t(length >> 8),
                                 uint8_t(length)});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) {
        return 0;
    }
    Fixture& f = fixture();
    const uint8_t mode = data[0];
    uint32_t state = data[1] * 2654435761u + static_cast<uint32_t>(size);
    auto random = [&state] {
        state = state * 1103515245u + 12345u;
        return state >> 8;
    };

    // The stream, and what a correct reader makes of it.
    Bytes stream;
    std::vector<Bytes> expected;
    uint64_t expected_runts = 0;
    enum class End { kClean, kZero, kOversize, kTruncated } end = End::kClean;
    for (size_t at = 2; at < size && end == End::kClean && stream.size() < kMaxStream; ++at) {
        const uint8_t op = data[at];
        if (op == 0xFF && (mode & 1)) {
            put_prefix(stream, 0);
            end = End::kZero;
        } else if (op == 0xFE && (mode & 2)) {
            put_prefix(stream, kMaxFrame + 1 + random() % 100000);
            end = End::kOversize;
        } else {
            const size_t length = 1 + (op * 13 + random() % 7) % kMaxFrame;
            Bytes frame(length);
            for (auto& byte : frame) byte = static_cast<uint8_t>(random());
            put_prefix(stream, static_cast<uint32_t>(length));
            stream.insert(stream.end(), frame.begin(), frame.end());
            if (length < hvmm::net::kEthernetHeaderSize) {
                ++expected_runts;
            } else {
                expected.push_back(std::move(frame));
            }
        }
    }
    if (end == End::kClean && (mode & 4) && !stream.empty()) {
        // The peer leaves mid-frame: drop the end of the last frame (and that frame).
        // 1 to 3 bytes off the end: the last frame (at least 1 byte long, with its 4-byte
        // prefix) is always left partial, never removed whole. Its start, by the prefixes:
        const size_t cut = 1 + random() % 3;
        size_t at = 0, last = 0;
        while (at < stream.size()) {
            last = at;
            const uint32_t length = uint32_t{stream[at]} << 24 | uint32_t{stream[at + 1]} << 16 |
                                    uint32_t{stream[at + 2]} << 8 | stream[at + 3];
            at += 4 + length;
        }
        const size_t last_size = stream.size() - last - 4;
        stream.resize(stream.size() - cut);
        if (last_size < hvmm::net::kEthernetHeaderSize) {
            --expected_runts;
        } else {
            expected.pop_back();
        }
        end = End::kTruncated;
    }

    const auto before = f.backend->stream_stats();
    f.sink.frames.clear();
    f.sink.accepting = true;
    const int peer = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", f.path.c_str());
    check(::connect(peer, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0,
          "connect");
    f.backend->poll_receive();  // accepts
    check(f.backend->link_up() && f.sink.link, "the link did not come up for the peer");

    size_t written = 0;
    int idle_polls = 0;
    while (written < stream.size()) {
        const size_t want = std::min<size_t>(1 + random() % 5000, stream.size() - written);
        const ssize_t n = ::send(peer, stream.data() + written, want, MSG_NOSIGNAL);
        if (n > 0) {
            written += static_cast<size_t>(n);
            idle_polls = 0;
            f.sink.accepting = (random() % 4) != 0 || (mode & 8);
        } else {
            // The socket is full: the backend must take some (once its sink has room), or the
            // connection ended early because of a bad length already delivered.
            check(errno == EAGAIN || errno == EPIPE || errno == ECONNRESET, "peer send failed");
            if (errno != EAGAIN) {
                break;
            }
            f.sink.accepting = true;
            check(++idle_polls < 1000, "the backend stopped reading with room in its sink");
        }
        f.backend->poll_receive();
    }
    ::close(peer);
    f.sink.accepting = true;
    for (int i = 0; i < 10000 && f.backend->link_up(); ++i) {
        f.backend->poll_receive();
    }
    check(!f.backend->link_up() && !f.sink.link, "the link stayed up after the peer left");

    const auto after = f.backend->stream_stats();
    check(f.sink.frames == expected, "frames differ from the reference");
    check(after.rx_runts - before.rx_runts == expected_runts, "runts miscounted");
    check(after.rx_zero_length - before.rx_zero_length == (end == End::kZero), "zero miscounted");
    check(after.rx_oversize - before.rx_oversize == (end == End::kOversize), "oversize miscounted");
    check(after.rx_truncated - before.rx_truncated == (end == End::kTruncated),
          "truncation miscounted");
    check(after.disconnects - before.disconnects == 1, "not exactly one disconnect");
    check(after.totals.rx_frames - before.totals.rx_frames == expected.size(), "rx_frames");
    return 0;
}
