// The socket backends against QEMU itself, when it is installed: one QEMU with no guest (-M none)
// joins a stream peer that connects to an hvmm listener, a stream server an hvmm client connects
// to, and a dgram pair, on one hub, which floods each frame to the other two. A frame sent by one
// hvmm backend arriving whole at the other two shows both framings are QEMU's. Skipped without
// QEMU; HVMM_QEMU names another binary (the lab's qemu-7.2, for one).
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fcntl.h>

#include <cstdlib>
#include <optional>

#include "net/socket/dgram_backend.h"
#include "net/socket/stream_backend.h"
#include "net_socket_test_peer.h"
#include "net_test_sink.h"

extern char** environ;

namespace hvmm {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::LoopRig;
using testing::SharedSink;
using testing::TempDir;
using testing::test_frame;

std::string qemu_binary() {
    const char* named = std::getenv("HVMM_QEMU");
    const std::string binary = named != nullptr ? named : "qemu-system-x86_64";
    const char* path = std::getenv("PATH");
    if (binary.find('/') != std::string::npos) {
        return ::access(binary.c_str(), X_OK) == 0 ? binary : "";
    }
    std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
    while (!dirs.empty()) {
        const size_t colon = dirs.find(':');
        const std::string candidate = std::string(dirs.substr(0, colon)) + "/" + binary;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
        dirs = colon == std::string_view::npos ? "" : dirs.substr(colon + 1);
    }
    return "";
}

// One QEMU process, killed (by its pid) and reaped when this goes.
class QemuProcess {
  public:
    QemuProcess(const std::string& binary, std::vector<std::string> args, const std::string& log) {
        args.insert(args.begin(), binary);
        std::vector<char*> argv;
        for (auto& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
        if (::posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
            pid_ = -1;
        }
        posix_spawn_file_actions_destroy(&actions);
    }
    ~QemuProcess() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    bool exited() {
        return pid_ <= 0 || ::waitpid(pid_, nullptr, WNOHANG) == pid_ ? (pid_ = -1, true) : false;
    }

  private:
    pid_t pid_ = -1;
};

TEST(NetSocketQemuInterop, StreamAndDgramFramesCrossAQemuHub) {
    const std::string qemu = qemu_binary();
    if (qemu.empty()) {
        GTEST_SKIP() << "no QEMU (qemu-system-x86_64 or HVMM_QEMU) to test against";
    }
    TempDir dir;
    const std::string listen_path = dir.file("hvmm-listen.sock");
    const std::string qemu_server = dir.file("qemu-server.sock");
    const std::string dgram_local = dir.file("hvmm.dgram");
    const std::string dgram_qemu = dir.file("qemu.dgram");

    auto listener = StreamBackend::listen(listen_path);
    ASSERT_TRUE(listener) << listener.error().message;
    auto dgram = DgramBackend::open(dgram_local, dgram_qemu);
    ASSERT_TRUE(dgram) << dgram.error().message;
    const std::string log = dir.file("qemu.log");
    std::optional<QemuProcess> process;
    process.emplace(
        qemu,
        std::vector<std::string>{
            "-M", "none", "-nodefaults", "-display", "none", "-netdev",
            "stream,id=s0,server=off,addr.type=unix,addr.path=" + listen_path, "-netdev",
            "stream,id=s1,server=on,addr.type=unix,addr.path=" + qemu_server, "-netdev",
            "dgram,id=d0,local.type=unix,local.path=" + dgram_qemu +
                ",remote.type=unix,remote.path=" + dgram_local,
            "-netdev", "hubport,id=p0,hubid=0,netdev=s0", "-netdev",
            "hubport,id=p1,hubid=0,netdev=s1", "-netdev", "hubport,id=p2,hubid=0,netdev=d0"},
        log);
    auto client = StreamBackend::connect(qemu_server, 50ms);
    ASSERT_TRUE(client) << client.error().message;

    SharedSink listener_sink, client_sink, dgram_sink;
    LoopRig listener_rig(**listener, listener_sink);
    LoopRig client_rig(**client, client_sink);
    LoopRig dgram_rig(**dgram, dgram_sink);
    if (!eventually([&] { return (*listener)->link_up() && (*client)->link_up(); }, 10s)) {
        if (process->exited()) {
            GTEST_SKIP() << qemu << " exited (no -netdev stream/dgram before QEMU 7.2?)";
        }
        FAIL() << "QEMU did not connect; see its log";
    }

    // QEMU takes a moment after connecting before it forwards, and drops what comes before:
    // send until the frame shows up, then check it is whole.
    const auto from_listener = test_frame(1, 1514);
    ASSERT_TRUE(eventually(
        [&] {
            (*listener)->send(std::span<const uint8_t>(from_listener));
            return client_sink.frame_count() > 0 && dgram_sink.frame_count() > 0;
        },
        10s));
    EXPECT_EQ(client_sink.frames().front(), from_listener);
    EXPECT_EQ(dgram_sink.frames().front(), from_listener);

    const auto from_dgram = test_frame(2, 9000);
    const size_t before = listener_sink.frame_count();
    (*dgram)->send(std::span<const uint8_t>(from_dgram));
    ASSERT_TRUE(eventually([&] { return listener_sink.frame_count() > before; }));
    EXPECT_EQ(listener_sink.frames().back(), from_dgram);

    // QEMU going away takes the stream links down; the datagram link stays up.
    process.reset();
    EXPECT_TRUE(eventually([&] { return !listener_sink.link() && !client_sink.link(); }));
    EXPECT_TRUE((*dgram)->link_up());
}

}  // namespace
}  // namespace hvmm
