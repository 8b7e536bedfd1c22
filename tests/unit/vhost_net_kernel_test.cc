// vhost-net against the real kernel: SET_OWNER and GET_FEATURES on /dev/vhost-net, then a frame
// each way between rings laid out in GuestMemory and a TAP, with no hvmm thread in between.
// They need /dev/vhost-net (the vhost_net module), /dev/net/tun and root; a host without them
// skips these tests and says which is missing (the lab has them all). The TAP header check runs
// wherever a TAP can be made.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "devices/virtio/net/vhost_net.h"
#include "devices/virtio/queue/virtq_ring.h"

namespace hvmm::virtio {
namespace {

constexpr uint32_t kQueueSize = 8;
constexpr uint32_t kBufferSize = 2048;
constexpr int kHeaderSize = 12;  // struct virtio_net_hdr with num_buffers (VERSION_1)
// A guard against hanging if a frame never comes; no assertion depends on timing.
constexpr auto kGuard = std::chrono::seconds(5);

std::string skip_reason_without_vhost() {
    if (::access("/dev/vhost-net", F_OK) != 0) {
        return "/dev/vhost-net does not exist on this host (vhost_net module not loaded); this "
               "test runs where it does (the lab)";
    }
    return {};
}

// A TAP made for the test, with the 12-byte virtio-net header and IFF_UP (tun refuses frames
// written to a down interface). The kernel deletes it when the fd closes.
struct TestTap {
    UniqueFd fd;
    std::string name;
    unsigned ifindex = 0;
};

// An empty message on success, else why the TAP could not be made.
std::string make_tap(TestTap& tap, bool vnet_header) {
    static int counter = 0;
    tap.name = fmt::format("hvmmvh{}x{}", ::getpid() % 100000, counter++);
    tap.fd = UniqueFd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (!tap.fd) {
        return fmt::format("cannot open /dev/net/tun: {}", std::strerror(errno));
    }
    ifreq request{};
    std::strncpy(request.ifr_name, tap.name.c_str(), IFNAMSIZ - 1);
    request.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_header ? IFF_VNET_HDR : 0);
    if (::ioctl(tap.fd.get(), TUNSETIFF, &request) != 0) {
        return fmt::format("cannot create TAP {}: {} (root is needed)", tap.name,
                           std::strerror(errno));
    }
    if (vnet_header) {
        int size = kHeaderSize;
        if (::ioctl(tap.fd.get(), TUNSETVNETHDRSZ, &size) != 0) {
            return fmt::format("TUNSETVNETHDRSZ: {}", std::strerror(errno));
        }
    }
    // No IPv6 on it, so the host's own router solicitations do not reach the guest's rings.
    if (FILE* knob = std::fopen(
            fmt::format("/proc/sys/net/ipv6/conf/{}/disable_ipv6", tap.name).c_str(), "w")) {
        std::fputs("1", knob);
        std::fclose(knob);
    }
    UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (::ioctl(control.get(), SIOCGIFFLAGS, &request) != 0) {
        return fmt::format("SIOCGIFFLAGS: {}", std::strerror(errno));
    }
    request.ifr_flags |= IFF_UP;
    if (::ioctl(control.get(), SIOCSIFFLAGS, &request) != 0) {
        return fmt::format("SIOCSIFFLAGS: {}", std::strerror(errno));
    }
    tap.ifindex = ::if_nametoindex(tap.name.c_str());
    return {};
}

// The host's side of the TAP: a packet socket on the interface sees what the guest sent and
// sends what the guest should receive.
UniqueFd open_packet_socket(unsigned ifindex) {
    UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = static_cast<int>(ifindex);
    if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        ADD_FAILURE() << "packet socket: " << std::strerror(errno);
        return UniqueFd();
    }
    return fd;
}

// A 60-byte broadcast frame of a local experimental EtherType carrying `text`.
std::vector<uint8_t> test_frame(uint8_t source_last_byte, std::string_view text) {
    std::vector<uint8_t> frame(60, 0);
    std::memset(frame.data(), 0xff, 6);
    const std::array<uint8_t, 6> source{0x02, 0x00, 0x00, 0x00, 0x00, source_last_byte};
    std::memcpy(frame.data() + 6, source.data(), 6);
    frame[12] = 0x88;  // 0x88B5: IEEE 802 local experimental
    frame[13] = 0xb5;
    std::memcpy(frame.data() + 14, text.data(), std::min<size_t>(text.size(), 46));
    return frame;
}

// One split ring the test plays the driver for, at fixed guest addresses.
struct TestRing {
    const GuestMemory& memory;
    uint64_t base;  // desc at base, avail at base + 0x1000, used at base + 0x2000
    uint16_t avail_idx = 0;

    uint64_t desc() const { return base; }
    uint64_t avail() const { return base + 0x1000; }
    uint64_t used() const { return base + 0x2000; }
    uint64_t buffer(uint32_t index) const { return base + 0x10000 + uint64_t{kBufferSize} * index; }

    void add_buffer(uint16_t index, uint32_t length, bool writable) {
        const Descriptor descriptor{buffer(index), length,
                                    static_cast<uint16_t>(writable ? desc_flags::kWrite : 0), 0};
        ASSERT_TRUE(memory.write_obj(GuestAddress(desc() + 16ull * index), descriptor));
        ASSERT_TRUE(memory.write_obj(
            GuestAddress(avail() + avail_entry_offset(avail_idx % kQueueSize)), index));
        // The entry is visible before the index that publishes it (the driver's write barrier).
        std::atomic_thread_fence(std::memory_order_release);
        ++avail_idx;
        ASSERT_TRUE(memory.write_obj(GuestAddress(avail() + kRingIdxOffset), avail_idx));
    }
    uint16_t used_idx() const {
        auto* idx = reinterpret_cast<uint16_t*>(
            memory.span(GuestAddress(used() + kRingIdxOffset), 2)->data());
        // The kernel's worker writes it concurrently.
        return __atomic_load_n(idx, __ATOMIC_ACQUIRE);
    }
    std::pair<uint32_t, uint32_t> used_element(uint16_t slot) const {
        const uint64_t at = used() + kRingEntriesOffset + 8ull * (slot % kQueueSize);
        return {memory.read_obj<uint32_t>(GuestAddress(at)).value(),
                memory.read_obj<uint32_t>(GuestAddress(at + 4)).value()};
    }
    VhostQueueSetup setup(int kick_fd, int call_fd) const {
        return VhostQueueSetup{.size = kQueueSize,
                               .desc_table = GuestAddress(desc()),
                               .avail_ring = GuestAddress(avail()),
                               .used_ring = GuestAddress(used()),
                               .next_avail = 0,
                               .kick_fd = kick_fd,
                               .call_fd = call_fd};
    }
};

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
    pollfd entry{.fd = fd, .events = POLLIN, .revents = 0};
    return ::poll(&entry, 1, static_cast<int>(timeout.count())) == 1;
}

TEST(VhostNetKernel, OpensTheRealDeviceAndReadsItsFeatures) {
    if (const std::string reason = skip_reason_without_vhost(); !reason.empty()) {
        GTEST_SKIP() << reason;
    }
    auto ioctls = KernelVhostIoctls::open("/dev/vhost-net");
    ASSERT_TRUE(ioctls) << ioctls.error().message;
    auto vhost = VhostNet::create(std::move(*ioctls));
    ASSERT_TRUE(vhost) << vhost.error().message;
    const uint64_t features = (*vhost)->backend_features();
    EXPECT_NE(features & vhost_bits::kVersion1, 0u) << fmt::format("{:#x}", features);
    EXPECT_NE(features & vhost_bits::kNetMrgRxbuf, 0u) << fmt::format("{:#x}", features);
    // The bit the TAP's own header makes unnecessary is one vhost-net always knows.
    EXPECT_NE(features & vhost_bits::kVhostNetHdr, 0u) << fmt::format("{:#x}", features);
    EXPECT_EQ((*vhost)->offerable_features(~uint64_t{0}) & vhost_bits::kAccessPlatform, 0u);
}

TEST(VhostNetKernel, TapHeaderLengthIsReadFromTheTap) {
    TestTap with_header;
    if (const std::string reason = make_tap(with_header, true); !reason.empty()) {
        GTEST_SKIP() << reason;
    }
    int size = -1;
    ASSERT_EQ(read_tap_vnet_header_size(with_header.fd.get(), size), 0);
    EXPECT_EQ(size, kHeaderSize);
    TestTap without_header;
    ASSERT_EQ(make_tap(without_header, false), "");
    ASSERT_EQ(read_tap_vnet_header_size(without_header.fd.get(), size), 0);
    EXPECT_EQ(size, 0);
}

// One frame each way through the real vhost-net, with its worker busy-polling each ring for
// busyloop_us (0: the kernel's default, no polling) as `poll-us=` asks.
void frames_flow_between_rings_and_tap(unsigned busyloop_us) {
    if (const std::string reason = skip_reason_without_vhost(); !reason.empty()) {
        GTEST_SKIP() << reason;
    }
    TestTap tap;
    if (const std::string reason = make_tap(tap, true); !reason.empty()) {
        GTEST_SKIP() << reason;
    }
    UniqueFd host = open_packet_socket(tap.ifindex);
    ASSERT_TRUE(host);
    auto memory = GuestMemory::create(64ull << 20);
    ASSERT_TRUE(memory) << memory.error().message;
    auto vhost = open_vhost_net(VhostMode::kOn, "--nic virtio,vhost=on");
    ASSERT_TRUE(vhost) << vhost.error().message;
    ASSERT_NE(*vhost, nullptr);

    std::array<UniqueFd, 2> kicks;
    std::array<UniqueFd, 2> calls;
    std::array<UniqueFd, 2> errors;
    for (size_t i = 0; i < 2; ++i) {
        kicks[i] = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        calls[i] = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        errors[i] = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        ASSERT_TRUE(kicks[i] && calls[i] && errors[i]);
    }
    TestRing rx{*memory, 0x100000};
    TestRing tx{*memory, 0x200000};
    // The driver's receive buffers, posted before DRIVER_OK as Linux does.
    for (uint16_t i = 0; i < kQueueSize; ++i) {
        rx.add_buffer(i, kBufferSize, true);
    }
    const uint64_t acked = vhost_bits::kVersion1 | vhost_bits::kNetMrgRxbuf;
    std::array<VhostQueueSetup, 2> queues{rx.setup(kicks[0].get(), calls[0].get()),
                                          tx.setup(kicks[1].get(), calls[1].get())};
    queues[0].err_fd = errors[0].get();
    queues[1].err_fd = errors[1].get();
    queues[0].busyloop_us = queues[1].busyloop_us = busyloop_us;
    auto started = (*vhost)->start(acked, *memory, queues, tap.fd.get());
    ASSERT_TRUE(started) << started.error().message;

    // Guest to host: header (all zero: no offload) and frame in one readable buffer, then the
    // kick KVM's ioeventfd would give.
    const std::vector<uint8_t> sent = test_frame(1, "hvmm vhost-net: guest to host");
    std::vector<uint8_t> with_header(kHeaderSize, 0);
    with_header.insert(with_header.end(), sent.begin(), sent.end());
    ASSERT_TRUE(memory->write(GuestAddress(tx.buffer(0)), with_header));
    tx.add_buffer(0, static_cast<uint32_t>(with_header.size()), false);
    const uint64_t one = 1;
    ASSERT_EQ(::write(kicks[1].get(), &one, sizeof(one)), 8);
    bool seen = false;
    const auto deadline = std::chrono::steady_clock::now() + kGuard;
    while (!seen && std::chrono::steady_clock::now() < deadline) {
        if (!wait_readable(host.get(), std::chrono::milliseconds(200))) {
            continue;
        }
        std::array<uint8_t, 2048> frame{};
        const ssize_t length = ::recv(host.get(), frame.data(), frame.size(), MSG_DONTWAIT);
        seen = length == static_cast<ssize_t>(sent.size()) &&
               std::memcmp(frame.data(), sent.data(), sent.size()) == 0;
    }
    EXPECT_TRUE(seen) << "the guest's frame never appeared on " << tap.name;
    while (tx.used_idx() != 1 && std::chrono::steady_clock::now() < deadline) {
        wait_readable(calls[1].get(), std::chrono::milliseconds(200));
    }
    EXPECT_EQ(tx.used_idx(), 1);
    EXPECT_EQ(tx.used_element(0).first, 0u);
    EXPECT_TRUE(wait_readable(calls[1].get(), std::chrono::milliseconds(0)))
        << "no used-buffer notification on the transmit call fd";

    // Host to guest: the frame lands after a 12-byte header whose num_buffers is 1.
    const std::vector<uint8_t> received = test_frame(2, "hvmm vhost-net: host to guest");
    ASSERT_EQ(::send(host.get(), received.data(), received.size(), 0),
              static_cast<ssize_t>(received.size()))
        << std::strerror(errno);
    bool delivered = false;
    uint16_t checked = 0;
    while (!delivered && std::chrono::steady_clock::now() < deadline) {
        wait_readable(calls[0].get(), std::chrono::milliseconds(200));
        for (; checked != rx.used_idx(); ++checked) {
            const auto [id, length] = rx.used_element(checked);
            if (id >= kQueueSize || length != kHeaderSize + received.size()) {
                continue;
            }
            std::vector<uint8_t> buffer(length);
            ASSERT_TRUE(memory->read(GuestAddress(rx.buffer(id)), buffer));
            const auto num_buffers = static_cast<uint16_t>(buffer[10] | (buffer[11] << 8));
            delivered = num_buffers == 1 && std::memcmp(buffer.data() + kHeaderSize,
                                                        received.data(), received.size()) == 0;
        }
    }
    EXPECT_TRUE(delivered) << "the host's frame never reached the receive ring";

    // Well-formed rings: vhost never reported one broken.
    EXPECT_FALSE(wait_readable(errors[0].get(), std::chrono::milliseconds(0)));
    EXPECT_FALSE(wait_readable(errors[1].get(), std::chrono::milliseconds(0)));

    const VhostStopResult stopped = (*vhost)->stop();
    ASSERT_EQ(stopped.size(), 2u);
    EXPECT_EQ(stopped[0], std::optional<uint16_t>(rx.used_idx()));
    EXPECT_EQ(stopped[1], std::optional<uint16_t>(1));
    EXPECT_EQ((*vhost)->counters().ioctl_failures, 0u);
}

TEST(VhostNetKernel, FramesFlowBetweenRingsAndTapWithoutHvmm) {
    frames_flow_between_rings_and_tap(0);
}

TEST(VhostNetKernel, FramesFlowWithTheWorkerBusyPolling) {
    frames_flow_between_rings_and_tap(50);
}

}  // namespace
}  // namespace hvmm::virtio
