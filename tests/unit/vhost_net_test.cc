// VhostNet's control sequence against a recording fake of the vhost ioctls: the order and the
// arguments of every call, what is refused before any call, what a failure undoes. The real
// /dev/vhost-net is exercised in vhost_net_kernel_test.cc.
#include "devices/virtio/net/vhost_net.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "devices/virtio/queue/virtq_ring.h"

namespace hvmm::virtio {
namespace {

// What the kernel's vhost-net offers (VHOST_NET_FEATURES of a 6.x kernel): NOTIFY_ON_EMPTY,
// LOG_ALL, ANY_LAYOUT/VHOST_NET_F_VIRTIO_NET_HDR, INDIRECT_DESC, EVENT_IDX, VERSION_1,
// ACCESS_PLATFORM, RING_RESET and MRG_RXBUF.
constexpr uint64_t kKernelFeatures = (1ull << 24) | (1ull << 26) | (1ull << 27) | (1ull << 28) |
                                     (1ull << 29) | (1ull << 32) | (1ull << 33) | (1ull << 40) |
                                     (1ull << 15);
constexpr uint64_t kNetMac = 1ull << 5;
constexpr uint64_t kNetStatus = 1ull << 16;
constexpr uint64_t kNetCsum = 1ull << 0;
constexpr uint64_t kNetGuestTso4 = 1ull << 7;
constexpr uint64_t kRingPacked = 1ull << 34;
constexpr uint64_t kEventIdx = 1ull << 29;
constexpr uint64_t kIndirect = 1ull << 28;

constexpr int kTapFd = 40;
constexpr int kKickFds[2] = {41, 42};
constexpr int kCallFds[2] = {43, 44};

// Records each call as one line ("SET_VRING_NUM 0 256") and fails the call whose line starts
// with fail_on, with fail_errno.
class FakeVhostIoctls final : public VhostIoctls {
  public:
    struct State {
        std::vector<std::string> calls;
        std::vector<vhost_memory_region> mem_table;
        std::map<unsigned, vhost_vring_addr> addrs;
        std::map<unsigned, unsigned> vring_base_to_report;
        uint64_t features = kKernelFeatures;
        int tap_header = 12;
        std::string fail_on;
        int fail_errno = EINVAL;
    };
    explicit FakeVhostIoctls(State& state) : state_(state) {}

    int set_owner() override { return record("SET_OWNER"); }
    int get_features(uint64_t& features) override {
        features = state_.features;
        return record("GET_FEATURES");
    }
    int set_features(uint64_t features) override {
        return record(fmt::format("SET_FEATURES {:#x}", features));
    }
    int set_mem_table(std::span<const vhost_memory_region> regions) override {
        state_.mem_table.assign(regions.begin(), regions.end());
        return record(fmt::format("SET_MEM_TABLE {}", regions.size()));
    }
    int set_vring_num(unsigned index, unsigned size) override {
        return record(fmt::format("SET_VRING_NUM {} {}", index, size));
    }
    int set_vring_base(unsigned index, unsigned next_avail) override {
        return record(fmt::format("SET_VRING_BASE {} {}", index, next_avail));
    }
    int get_vring_base(unsigned index, unsigned& next_avail) override {
        next_avail = state_.vring_base_to_report[index];
        return record(fmt::format("GET_VRING_BASE {}", index));
    }
    int set_vring_addr(const vhost_vring_addr& addr) override {
        state_.addrs[addr.index] = addr;
        return record(fmt::format("SET_VRING_ADDR {} flags {}", addr.index, addr.flags));
    }
    int set_vring_kick(unsigned index, int fd) override {
        return record(fmt::format("SET_VRING_KICK {} {}", index, fd));
    }
    int set_vring_call(unsigned index, int fd) override {
        return record(fmt::format("SET_VRING_CALL {} {}", index, fd));
    }
    int set_vring_err(unsigned index, int fd) override {
        return record(fmt::format("SET_VRING_ERR {} {}", index, fd));
    }
    int set_vring_busyloop_timeout(unsigned index, unsigned usecs) override {
        return record(fmt::format("SET_VRING_BUSYLOOP_TIMEOUT {} {}", index, usecs));
    }
    int net_set_backend(unsigned index, int fd) override {
        return record(fmt::format("NET_SET_BACKEND {} {}", index, fd));
    }
    int tap_vnet_header_size(int tap_fd, int& size) override {
        size = state_.tap_header;
        return record(fmt::format("TAP_VNET_HDR_SZ {}", tap_fd));
    }
    int signal_eventfd(int fd) override { return record(fmt::format("SIGNAL {}", fd)); }

  private:
    int record(std::string call) {
        const bool fails = !state_.fail_on.empty() && call.starts_with(state_.fail_on);
        state_.calls.push_back(std::move(call));
        return fails ? state_.fail_errno : 0;
    }
    State& state_;
};

class VhostNetTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto created = GuestMemory::create(64ull << 20);
        ASSERT_TRUE(created) << created.error().message;
        memory_.emplace(std::move(*created));
        // Two 256-entry queues at aligned places well inside RAM.
        queues_[0] = VhostQueueSetup{.size = 256,
                                     .desc_table = GuestAddress(0x100000),
                                     .avail_ring = GuestAddress(0x101000),
                                     .used_ring = GuestAddress(0x102000),
                                     .next_avail = 0,
                                     .kick_fd = kKickFds[0],
                                     .call_fd = kCallFds[0]};
        queues_[1] = VhostQueueSetup{.size = 128,
                                     .desc_table = GuestAddress(0x200000),
                                     .avail_ring = GuestAddress(0x201000),
                                     .used_ring = GuestAddress(0x202000),
                                     .next_avail = 7,
                                     .kick_fd = kKickFds[1],
                                     .call_fd = kCallFds[1]};
    }

    std::unique_ptr<VhostNet> make() {
        auto vhost = VhostNet::create(std::make_unique<FakeVhostIoctls>(state_));
        EXPECT_TRUE(vhost) << vhost.error().message;
        state_.calls.clear();
        return vhost ? std::move(*vhost) : nullptr;
    }

    uint64_t host_address(GuestAddress address) const {
        return reinterpret_cast<uint64_t>(memory_->span(address, 1)->data());
    }

    static constexpr uint64_t kAcked = kNetMac | kNetStatus | kNetCsum | kEventIdx | kIndirect |
                                       vhost_bits::kVersion1 | vhost_bits::kNetMrgRxbuf;

    FakeVhostIoctls::State state_;
    std::optional<GuestMemory> memory_;
    VhostQueueSetup queues_[2];
};

TEST_F(VhostNetTest, CreateSetsOwnerThenReadsFeaturesOnce) {
    auto vhost = VhostNet::create(std::make_unique<FakeVhostIoctls>(state_));
    ASSERT_TRUE(vhost) << vhost.error().message;
    EXPECT_EQ(state_.calls, (std::vector<std::string>{"SET_OWNER", "GET_FEATURES"}));
    EXPECT_EQ((*vhost)->backend_features(), kKernelFeatures);
}

TEST_F(VhostNetTest, CreateFailingNamesTheIoctlAndErrno) {
    state_.fail_on = "SET_OWNER";
    state_.fail_errno = EBUSY;
    auto vhost = VhostNet::create(std::make_unique<FakeVhostIoctls>(state_));
    ASSERT_FALSE(vhost);
    EXPECT_NE(vhost.error().message.find("VHOST_SET_OWNER"), std::string::npos);
    EXPECT_NE(vhost.error().message.find(std::strerror(EBUSY)), std::string::npos);
}

TEST_F(VhostNetTest, VhostWithoutVersion1IsRefused) {
    state_.features = kKernelFeatures & ~vhost_bits::kVersion1;
    auto vhost = VhostNet::create(std::make_unique<FakeVhostIoctls>(state_));
    ASSERT_FALSE(vhost);
    EXPECT_NE(vhost.error().message.find("VERSION_1"), std::string::npos);
}

TEST_F(VhostNetTest, OfferedFeaturesNeverIncludeAccessPlatformOrBit27) {
    auto vhost = make();
    const uint64_t device = kNetMac | kNetStatus | kNetCsum | kNetGuestTso4 | kEventIdx |
                            kIndirect | vhost_bits::kVersion1 | vhost_bits::kNetMrgRxbuf |
                            vhost_bits::kAccessPlatform | vhost_bits::kVhostNetHdr | kRingPacked;
    const uint64_t offered = vhost->offerable_features(device);
    EXPECT_EQ(offered & vhost_bits::kAccessPlatform, 0u);
    EXPECT_EQ(offered & vhost_bits::kVhostNetHdr, 0u);
    // vhost-net has no packed ring: a ring bit this kernel lacks is not offered.
    EXPECT_EQ(offered & kRingPacked, 0u);
    // Device bits that are not vhost's business pass through (config space, header offloads).
    EXPECT_EQ(offered, kNetMac | kNetStatus | kNetCsum | kNetGuestTso4 | kEventIdx | kIndirect |
                           vhost_bits::kVersion1 | vhost_bits::kNetMrgRxbuf);
}

TEST_F(VhostNetTest, MergeableBuffersAreDroppedWhenVhostLacksThem) {
    state_.features = kKernelFeatures & ~vhost_bits::kNetMrgRxbuf;
    auto vhost = make();
    EXPECT_EQ(vhost->offerable_features(vhost_bits::kNetMrgRxbuf | vhost_bits::kVersion1),
              vhost_bits::kVersion1);
}

TEST_F(VhostNetTest, VhostFeaturesKeepOnlyItsBitsWithoutTheHeaderBit) {
    auto vhost = make();
    // The TAP carries the header, so VHOST_NET_F_VIRTIO_NET_HDR stays clear even though the
    // kernel offers it; device bits vhost does not know (MAC, CSUM) would make SET_FEATURES fail.
    EXPECT_EQ(vhost->vhost_features_for(kAcked | vhost_bits::kAccessPlatform |
                                        vhost_bits::kVhostNetHdr | vhost_bits::kLogAll),
              kEventIdx | kIndirect | vhost_bits::kVersion1 | vhost_bits::kNetMrgRxbuf);
}

TEST_F(VhostNetTest, StartRunsTheSequenceInOrder) {
    auto vhost = make();
    auto started = vhost->start(kAcked, *memory_, queues_, kTapFd);
    ASSERT_TRUE(started) << started.error().message;
    EXPECT_TRUE(vhost->running());
    const std::string features =
        fmt::format("SET_FEATURES {:#x}",
                    kEventIdx | kIndirect | vhost_bits::kVersion1 | vhost_bits::kNetMrgRxbuf);
    const std::vector<std::string> expected = {
        "TAP_VNET_HDR_SZ 40",
        features,
        "SET_MEM_TABLE 1",
        "SET_VRING_NUM 0 256",
        "SET_VRING_BASE 0 0",
        "SET_VRING_ADDR 0 flags 0",
        "SET_VRING_KICK 0 41",
        "SET_VRING_CALL 0 43",
        "SET_VRING_NUM 1 128",
        "SET_VRING_BASE 1 7",
        "SET_VRING_ADDR 1 flags 0",
        "SET_VRING_KICK 1 42",
        "SET_VRING_CALL 1 44",
        "NET_SET_BACKEND 0 40",
        "NET_SET_BACKEND 1 40",
        "SIGNAL 41",
        "SIGNAL 42",
    };
    EXPECT_EQ(state_.calls, expected);
    EXPECT_EQ(vhost->counters().starts, 1u);
}

TEST_F(VhostNetTest, RingAddressesAreTranslatedToHostAddresses) {
    auto vhost = make();
    ASSERT_TRUE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    for (unsigned index = 0; index < 2; ++index) {
        const vhost_vring_addr& addr = state_.addrs.at(index);
        EXPECT_EQ(addr.desc_user_addr, host_address(queues_[index].desc_table));
        EXPECT_EQ(addr.avail_user_addr, host_address(queues_[index].avail_ring));
        EXPECT_EQ(addr.used_user_addr, host_address(queues_[index].used_ring));
        EXPECT_EQ(addr.log_guest_addr, 0u);
    }
}

TEST_F(VhostNetTest, MemoryTableIsOneEntryPerRamRegion) {
    auto vhost = make();
    ASSERT_TRUE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    ASSERT_EQ(state_.mem_table.size(), 1u);
    EXPECT_EQ(state_.mem_table[0].guest_phys_addr, 0u);
    EXPECT_EQ(state_.mem_table[0].memory_size, 64ull << 20);
    EXPECT_EQ(state_.mem_table[0].userspace_addr,
              reinterpret_cast<uint64_t>(memory_->regions()[0].host));
    EXPECT_EQ(state_.mem_table[0].flags_padding, 0u);
}

TEST_F(VhostNetTest, MemoryTableSplitsAroundThePciHole) {
    // 3 GiB + 64 MiB: RAM below the hole, then the rest from 4 GiB (mapped, never touched).
    auto large = GuestMemory::create(GuestMemory::kPciHoleStart + (64ull << 20));
    ASSERT_TRUE(large) << large.error().message;
    queues_[1].desc_table = GuestAddress(GuestMemory::kPciHoleEnd + 0x10000);
    queues_[1].avail_ring = GuestAddress(GuestMemory::kPciHoleEnd + 0x11000);
    queues_[1].used_ring = GuestAddress(GuestMemory::kPciHoleEnd + 0x12000);
    auto vhost = make();
    ASSERT_TRUE(vhost->start(kAcked, *large, queues_, kTapFd));
    ASSERT_EQ(state_.mem_table.size(), 2u);
    EXPECT_EQ(state_.mem_table[0].guest_phys_addr, 0u);
    EXPECT_EQ(state_.mem_table[0].memory_size, GuestMemory::kPciHoleStart);
    EXPECT_EQ(state_.mem_table[0].userspace_addr,
              reinterpret_cast<uint64_t>(large->regions()[0].host));
    EXPECT_EQ(state_.mem_table[1].guest_phys_addr, GuestMemory::kPciHoleEnd);
    EXPECT_EQ(state_.mem_table[1].memory_size, 64ull << 20);
    EXPECT_EQ(state_.mem_table[1].userspace_addr,
              reinterpret_cast<uint64_t>(large->regions()[1].host));
    // A ring above the hole is translated through the second region.
    EXPECT_EQ(state_.addrs.at(1).desc_user_addr,
              reinterpret_cast<uint64_t>(large->regions()[1].host) + 0x10000);
}

TEST_F(VhostNetTest, RingOutsideRamIsRefusedBeforeAnyIoctl) {
    auto vhost = make();
    // The used ring's last bytes run past the end of RAM.
    queues_[1].used_ring = GuestAddress((64ull << 20) - used_ring_size(128) + 4);
    auto started = vhost->start(kAcked, *memory_, queues_, kTapFd);
    ASSERT_FALSE(started);
    EXPECT_NE(started.error().message.find("queue 1"), std::string::npos);
    EXPECT_TRUE(state_.calls.empty());
    EXPECT_FALSE(vhost->running());
    EXPECT_EQ(vhost->counters().start_failures, 1u);
}

TEST_F(VhostNetTest, RingInThePciHoleIsRefusedBeforeAnyIoctl) {
    auto large = GuestMemory::create(GuestMemory::kPciHoleStart + (64ull << 20));
    ASSERT_TRUE(large);
    queues_[0].desc_table = GuestAddress(GuestMemory::kPciHoleStart + 0x1000);
    auto vhost = make();
    EXPECT_FALSE(vhost->start(kAcked, *large, queues_, kTapFd));
    EXPECT_TRUE(state_.calls.empty());
}

TEST_F(VhostNetTest, MissingEventfdOrWrongQueueCountIsRefusedBeforeAnyIoctl) {
    auto vhost = make();
    queues_[0].call_fd = -1;
    EXPECT_FALSE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    queues_[0].call_fd = kCallFds[0];
    EXPECT_FALSE(vhost->start(kAcked, *memory_, std::span(queues_, 1), kTapFd));
    EXPECT_FALSE(vhost->start(kAcked, *memory_, queues_, -1));
    EXPECT_TRUE(state_.calls.empty());
}

TEST_F(VhostNetTest, TapWithoutTheHeaderIsRefusedBeforeAnyVhostIoctl) {
    auto vhost = make();
    state_.tap_header = 0;  // opened without IFF_VNET_HDR
    auto started = vhost->start(kAcked, *memory_, queues_, kTapFd);
    ASSERT_FALSE(started);
    EXPECT_NE(started.error().message.find("IFF_VNET_HDR"), std::string::npos);
    EXPECT_EQ(state_.calls, (std::vector<std::string>{"TAP_VNET_HDR_SZ 40"}));
}

TEST_F(VhostNetTest, StopDetachesThenRecoversIndicesThenUnbinds) {
    auto vhost = make();
    ASSERT_TRUE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    state_.calls.clear();
    state_.vring_base_to_report = {{0, 300}, {1, 65535}};
    const VhostStopResult stopped = vhost->stop();
    const std::vector<std::string> expected = {
        "NET_SET_BACKEND 0 -1", "NET_SET_BACKEND 1 -1", "GET_VRING_BASE 0",
        "GET_VRING_BASE 1",     "SET_VRING_KICK 0 -1",  "SET_VRING_CALL 0 -1",
        "SET_VRING_KICK 1 -1",  "SET_VRING_CALL 1 -1",
    };
    EXPECT_EQ(state_.calls, expected);
    ASSERT_EQ(stopped.size(), 2u);
    EXPECT_EQ(stopped[0], std::optional<uint16_t>(300));
    EXPECT_EQ(stopped[1], std::optional<uint16_t>(65535));
    EXPECT_FALSE(vhost->running());
    EXPECT_EQ(vhost->counters().stops, 1u);
}

TEST_F(VhostNetTest, ErrorFdIsBoundOnlyWhereGivenAndUnboundAtStop) {
    auto vhost = make();
    queues_[1].err_fd = 45;
    ASSERT_TRUE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    const auto bound = std::find(state_.calls.begin(), state_.calls.end(), "SET_VRING_ERR 1 45");
    ASSERT_NE(bound, state_.calls.end());
    EXPECT_EQ(*(bound - 1), "SET_VRING_CALL 1 44");
    EXPECT_EQ(
        std::count_if(state_.calls.begin(), state_.calls.end(),
                      [](const std::string& call) { return call.starts_with("SET_VRING_ERR"); }),
        1);
    state_.calls.clear();
    vhost->stop();
    EXPECT_EQ(state_.calls.back(), "SET_VRING_ERR 1 -1");
    EXPECT_EQ(
        std::count_if(state_.calls.begin(), state_.calls.end(),
                      [](const std::string& call) { return call.starts_with("SET_VRING_ERR"); }),
        1);
}

TEST_F(VhostNetTest, BusyPollingIsSetPerQueueBeforeTheBackendOnlyWhenAsked) {
    auto vhost = make();
    ASSERT_TRUE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    EXPECT_EQ(std::count_if(state_.calls.begin(), state_.calls.end(),
                            [](const std::string& call) {
                                return call.starts_with("SET_VRING_BUSYLOOP_TIMEOUT");
                            }),
              0);
    vhost->stop();
    state_.calls.clear();
    queues_[0].busyloop_us = 50;
    queues_[1].busyloop_us = 50;
    ASSERT_TRUE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    for (const std::string queue : {"0", "1"}) {
        const auto set = std::find(state_.calls.begin(), state_.calls.end(),
                                   "SET_VRING_BUSYLOOP_TIMEOUT " + queue + " 50");
        ASSERT_NE(set, state_.calls.end()) << queue;
        EXPECT_LT(set, std::find(state_.calls.begin(), state_.calls.end(), "NET_SET_BACKEND 0 40"));
    }
}

TEST_F(VhostNetTest, BusyPollingRefusedUndoesTheStart) {
    auto vhost = make();
    queues_[0].busyloop_us = 50;
    queues_[1].busyloop_us = 50;
    state_.fail_on = "SET_VRING_BUSYLOOP_TIMEOUT 1";
    state_.fail_errno = EINVAL;
    const auto started = vhost->start(kAcked, *memory_, queues_, kTapFd);
    ASSERT_FALSE(started);
    EXPECT_NE(started.error().message.find("VHOST_SET_VRING_BUSYLOOP_TIMEOUT"), std::string::npos)
        << started.error().message;
    EXPECT_FALSE(vhost->running());
    EXPECT_EQ(state_.calls.back(), "SET_VRING_CALL 1 -1");
}

TEST_F(VhostNetTest, StopTwiceIsHarmless) {
    auto vhost = make();
    ASSERT_TRUE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    vhost->stop();
    state_.calls.clear();
    EXPECT_TRUE(vhost->stop().empty());
    EXPECT_TRUE(state_.calls.empty());
    EXPECT_EQ(vhost->counters().stops, 1u);
}

TEST_F(VhostNetTest, StopWhenNeverStartedDoesNothing) {
    auto vhost = make();
    EXPECT_TRUE(vhost->stop().empty());
    EXPECT_TRUE(state_.calls.empty());
}

TEST_F(VhostNetTest, DestructorStops) {
    auto vhost = make();
    ASSERT_TRUE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    state_.calls.clear();
    vhost.reset();
    ASSERT_FALSE(state_.calls.empty());
    EXPECT_EQ(state_.calls.front(), "NET_SET_BACKEND 0 -1");
    EXPECT_EQ(state_.calls.back(), "SET_VRING_CALL 1 -1");
}

TEST_F(VhostNetTest, FailedVringBaseReadLeavesThatQueueUnknown) {
    auto vhost = make();
    ASSERT_TRUE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    state_.fail_on = "GET_VRING_BASE 1";
    state_.vring_base_to_report = {{0, 12}};
    const VhostStopResult stopped = vhost->stop();
    ASSERT_EQ(stopped.size(), 2u);
    EXPECT_EQ(stopped[0], std::optional<uint16_t>(12));
    EXPECT_FALSE(stopped[1].has_value());
    // The kick and call are still unbound after the failure.
    EXPECT_EQ(state_.calls.back(), "SET_VRING_CALL 1 -1");
}

TEST_F(VhostNetTest, BackendFailingOnSecondQueueUndoesTheFirst) {
    auto vhost = make();
    state_.fail_on = "NET_SET_BACKEND 1 40";
    state_.fail_errno = EBADFD;
    auto started = vhost->start(kAcked, *memory_, queues_, kTapFd);
    ASSERT_FALSE(started);
    EXPECT_NE(started.error().message.find("VHOST_NET_SET_BACKEND (queue 1)"), std::string::npos)
        << started.error().message;
    EXPECT_NE(started.error().message.find(std::strerror(EBADFD)), std::string::npos);
    const std::vector<std::string> tail(state_.calls.end() - 6, state_.calls.end());
    const std::vector<std::string> expected = {
        "NET_SET_BACKEND 1 40", "NET_SET_BACKEND 0 -1", "SET_VRING_KICK 0 -1",
        "SET_VRING_CALL 0 -1",  "SET_VRING_KICK 1 -1",  "SET_VRING_CALL 1 -1",
    };
    EXPECT_EQ(tail, expected);
    EXPECT_FALSE(vhost->running());
    EXPECT_EQ(vhost->counters().start_failures, 1u);
    EXPECT_EQ(vhost->counters().ioctl_failures, 1u);
    // Nothing is left to stop.
    state_.calls.clear();
    EXPECT_TRUE(vhost->stop().empty());
    EXPECT_TRUE(state_.calls.empty());
}

TEST_F(VhostNetTest, VringAddrFailingOnSecondQueueUnbindsTheFirstQueuesFiles) {
    auto vhost = make();
    state_.fail_on = "SET_VRING_ADDR 1";
    auto started = vhost->start(kAcked, *memory_, queues_, kTapFd);
    ASSERT_FALSE(started);
    EXPECT_NE(started.error().message.find("VHOST_SET_VRING_ADDR (queue 1)"), std::string::npos);
    const std::vector<std::string> tail(state_.calls.end() - 3, state_.calls.end());
    EXPECT_EQ(tail, (std::vector<std::string>{"SET_VRING_ADDR 1 flags 0", "SET_VRING_KICK 0 -1",
                                              "SET_VRING_CALL 0 -1"}));
    // No backend was attached, so none is detached.
    for (const std::string& call : state_.calls) {
        EXPECT_FALSE(call.starts_with("NET_SET_BACKEND")) << call;
    }
}

TEST_F(VhostNetTest, MemTableFailingStopsBeforeAnyQueue) {
    auto vhost = make();
    state_.fail_on = "SET_MEM_TABLE";
    state_.fail_errno = ENOMEM;
    auto started = vhost->start(kAcked, *memory_, queues_, kTapFd);
    ASSERT_FALSE(started);
    EXPECT_NE(started.error().message.find("VHOST_SET_MEM_TABLE"), std::string::npos);
    EXPECT_EQ(state_.calls.back(), "SET_MEM_TABLE 1");
}

TEST_F(VhostNetTest, StartWhileRunningStopsFirst) {
    auto vhost = make();
    ASSERT_TRUE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    state_.calls.clear();
    ASSERT_TRUE(vhost->start(kAcked, *memory_, queues_, kTapFd));
    EXPECT_EQ(state_.calls.front(), "NET_SET_BACKEND 0 -1");
    EXPECT_TRUE(vhost->running());
    EXPECT_EQ(vhost->counters().stops, 1u);
    EXPECT_EQ(vhost->counters().starts, 2u);
}

TEST(VhostNetOpen, OnWithoutTheDeviceIsOneClearError) {
    auto vhost = open_vhost_net(VhostMode::kOn, "--nic virtio,vhost=on", "/nonexistent/vhost-net");
    ASSERT_FALSE(vhost);
    EXPECT_EQ(vhost.error().message,
              "--nic virtio,vhost=on: cannot open /nonexistent/vhost-net: No such file or "
              "directory (load the vhost_net module, or use vhost=off)");
}

TEST(VhostNetOpen, AutoWithoutTheDeviceFallsBackToUserspace) {
    auto vhost = open_vhost_net(VhostMode::kAuto, "--nic virtio", "/nonexistent/vhost-net");
    ASSERT_TRUE(vhost);
    EXPECT_EQ(*vhost, nullptr);
}

TEST(VhostNetOpen, OffOpensNothing) {
    auto vhost = open_vhost_net(VhostMode::kOff, "--nic virtio", "/nonexistent/vhost-net");
    ASSERT_TRUE(vhost);
    EXPECT_EQ(*vhost, nullptr);
}

}  // namespace
}  // namespace hvmm::virtio
