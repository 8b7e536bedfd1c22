// virtio-net receive: single and mergeable buffers, back-pressure and resume, batching, the
// vnet header from a backend that has one.
#include <gtest/gtest.h>

#include "virtio_net_test_rig.h"

namespace hvmm::virtio::testing {
namespace {

constexpr uint64_t kWithoutMergeable = ~ns::kMrgRxbuf;

// The frame the guest got in buffer `address` (header first), length bytes.
std::vector<uint8_t> received(NetRig& rig, uint64_t address, size_t length) {
    return rig.rx().bytes(address + 12, length);
}

TEST(VirtioNetRx, FrameGoesIntoOneBufferAfterAHeaderOfOneBuffer) {
    NetRig rig;
    rig.activate();
    const auto buffers = rig.post_rx(4, 2048);
    rig.kick(ns::kRxQueue);
    const auto frame = frame_to(kNicMac, 98);
    EXPECT_EQ(rig.backend.inject(frame), 1u);
    ASSERT_EQ(rig.rx().used_idx(), 1);
    EXPECT_EQ(rig.rx().used(0).len, 12u + 98u);
    const auto header = rig.rx().get<ns::NetHeader>(buffers[0]);
    EXPECT_EQ(header.num_buffers, 1);
    EXPECT_EQ(header.flags, 0);
    EXPECT_EQ(header.gso_type, ns::kGsoNone);
    EXPECT_EQ(received(rig, buffers[0], 98), frame);
    EXPECT_EQ(rig.interrupt.used[ns::kRxQueue], 1u);
    EXPECT_EQ(rig.device->counters().rx_frames, 1u);
    EXPECT_EQ(rig.device->counters().rx_bytes, 98u);
}

TEST(VirtioNetRx, A64KiBFrameIsSpreadOverFourKiBBuffersWithNumBuffers) {
    NetRig rig;
    rig.activate();
    ASSERT_TRUE(rig.accepted & ns::kMrgRxbuf);
    const auto buffers = rig.post_rx(20, 4096);
    rig.kick(ns::kRxQueue);
    const auto frame = frame_to(kNicMac, 65536);
    EXPECT_EQ(rig.backend.inject(frame), 1u);
    // 12 + 65536 bytes: sixteen full buffers and 12 bytes in a seventeenth.
    ASSERT_EQ(rig.rx().used_idx(), 17);
    for (uint16_t i = 0; i < 16; ++i) EXPECT_EQ(rig.rx().used(i).len, 4096u) << i;
    EXPECT_EQ(rig.rx().used(16).len, 12u);
    EXPECT_EQ(rig.rx().get<ns::NetHeader>(buffers[0]).num_buffers, 17);
    std::vector<uint8_t> joined = rig.rx().bytes(buffers[0] + 12, 4096 - 12);
    for (size_t i = 1; i < 17; ++i) {
        const auto part = rig.rx().bytes(buffers[i], rig.rx().used(i).len);
        joined.insert(joined.end(), part.begin(), part.end());
    }
    EXPECT_EQ(joined, frame);
    EXPECT_EQ(rig.interrupt.used[ns::kRxQueue], 1u);
    EXPECT_EQ(rig.device->counters().rx_buffers, 17u);
}

TEST(VirtioNetRx, WithoutMergeableAFrameLargerThanTheBufferIsDroppedAndTheBufferKept) {
    NetRig rig;
    rig.activate(rig.device->device_features() & kWithoutMergeable);
    const auto buffers = rig.post_rx(1, 1526);
    rig.kick(ns::kRxQueue);
    rig.backend.inject(frame_to(kNicMac, 3000));
    EXPECT_EQ(rig.rx().used_idx(), 0);
    EXPECT_EQ(rig.device->counters().rx_dropped_oversize, 1u);
    const auto frame = frame_to(kNicMac, 1514);
    EXPECT_EQ(rig.backend.inject(frame), 1u);
    ASSERT_EQ(rig.rx().used_idx(), 1);
    EXPECT_EQ(rig.rx().get<ns::NetHeader>(buffers[0]).num_buffers, 1);
    EXPECT_EQ(received(rig, buffers[0], 1514), frame);
}

TEST(VirtioNetRx, WithNoBuffersTheBackendKeepsFramesUntilTheGuestRefills) {
    // CVE-2020-16843's lesson: a full ring with a backlog must resume when the guest refills.
    NetRig rig;
    rig.activate();
    EXPECT_EQ(rig.backend.inject(frame_to(kNicMac, 60, 1)), 0u);
    EXPECT_EQ(rig.backend.inject(frame_to(kNicMac, 60, 2)), 0u);
    EXPECT_EQ(rig.backend.pending.size(), 2u) << "refused, not dropped";
    const auto buffers = rig.post_rx(2, 2048);
    rig.kick(ns::kRxQueue);  // the refill's kick resumes the backend
    EXPECT_TRUE(rig.backend.pending.empty());
    ASSERT_EQ(rig.rx().used_idx(), 2);
    EXPECT_EQ(received(rig, buffers[0], 60), frame_to(kNicMac, 60, 1));
    EXPECT_EQ(received(rig, buffers[1], 60), frame_to(kNicMac, 60, 2));
    EXPECT_EQ(rig.interrupt.used[ns::kRxQueue], 1u) << "one notification for the resumed batch";
    EXPECT_EQ(rig.device->counters().rx_dropped_not_ready, 0u);
}

TEST(VirtioNetRx, BuffersRunningOutMidFrameHoldTheFrameUntilTheRefill) {
    NetRig rig;
    rig.activate();
    const auto first = rig.post_rx(1, 4096);
    rig.kick(ns::kRxQueue);
    const auto frame = frame_to(kNicMac, 10000);
    EXPECT_EQ(rig.backend.inject(frame), 1u);  // taken, but it does not fit yet
    EXPECT_EQ(rig.rx().used_idx(), 0);
    EXPECT_EQ(rig.device->counters().rx_held, 1u);
    EXPECT_EQ(rig.backend.inject(frame_to(kNicMac, 60)), 0u) << "refused while one waits";
    const auto more = rig.post_rx(3, 4096);
    rig.kick(ns::kRxQueue);
    // The held frame in three buffers, then the refused one.
    ASSERT_EQ(rig.rx().used_idx(), 4);
    EXPECT_EQ(rig.rx().get<ns::NetHeader>(first[0]).num_buffers, 3);
    auto joined = rig.rx().bytes(first[0] + 12, 4084);
    auto second = rig.rx().bytes(more[0], 4096);
    auto third = rig.rx().bytes(more[1], 10000 + 12 - 8192);
    joined.insert(joined.end(), second.begin(), second.end());
    joined.insert(joined.end(), third.begin(), third.end());
    EXPECT_EQ(joined, frame);
    EXPECT_EQ(received(rig, more[2], 60), frame_to(kNicMac, 60));
}

TEST(VirtioNetRx, AFrameLargerThanTheWholeRingIsDroppedNotHeldForever) {
    NetRig rig(0, {.mac = kNicMac}, 4);
    rig.activate();
    rig.post_rx(4, 1024);
    rig.kick(ns::kRxQueue);
    rig.backend.inject(frame_to(kNicMac, 9000));
    EXPECT_EQ(rig.device->counters().rx_dropped_oversize, 1u);
    EXPECT_EQ(rig.backend.inject(frame_to(kNicMac, 500)), 1u);
    EXPECT_EQ(rig.rx().used_idx(), 1);
}

TEST(VirtioNetRx, ABackendBatchIsOneNotificationWithEventIdx) {
    NetRig rig;
    rig.activate();
    rig.post_rx(16, 2048);
    rig.kick(ns::kRxQueue);
    for (uint8_t i = 0; i < 8; ++i) rig.backend.pending.push_back(frame_to(kNicMac, 60, i));
    rig.device->service_backend();
    EXPECT_EQ(rig.rx().used_idx(), 8);
    EXPECT_EQ(rig.interrupt.used[ns::kRxQueue], 1u);
    // used_event still 0: the driver has not asked again, so the next batch is silent.
    for (uint8_t i = 0; i < 4; ++i) rig.backend.pending.push_back(frame_to(kNicMac, 60, i));
    rig.device->service_backend();
    EXPECT_EQ(rig.rx().used_idx(), 12);
    EXPECT_EQ(rig.interrupt.used[ns::kRxQueue], 1u);
    rig.rx().set_used_event(12);
    rig.backend.pending.push_back(frame_to(kNicMac, 60));
    rig.device->service_backend();
    EXPECT_EQ(rig.interrupt.used[ns::kRxQueue], 2u);
}

TEST(VirtioNetRx, BufferTooShortForTheHeaderIsAnsweredEmpty) {
    NetRig rig;
    rig.activate();
    rig.rx().add_chain({{rig.rx().alloc(8), 8, true}});
    const auto good = rig.post_rx(1, 2048);
    rig.kick(ns::kRxQueue);
    EXPECT_EQ(rig.backend.inject(frame_to(kNicMac, 60)), 1u);
    ASSERT_EQ(rig.rx().used_idx(), 2);
    EXPECT_EQ(rig.rx().used(0).len, 0u);
    EXPECT_EQ(received(rig, good[0], 60), frame_to(kNicMac, 60));
    EXPECT_EQ(rig.device->counters().rx_malformed_chains, 1u);
}

TEST(VirtioNetRx, FramesBeforeActivationWaitInTheBackend) {
    NetRig rig;
    EXPECT_EQ(rig.backend.inject(frame_to(kNicMac, 60)), 0u);
    rig.activate();
    rig.post_rx(1, 2048);
    rig.kick(ns::kRxQueue);
    EXPECT_EQ(rig.rx().used_idx(), 1);
    EXPECT_TRUE(rig.backend.pending.empty());
}

TEST(VirtioNetRx, VnetHeaderFromTheBackendReachesTheGuestWithNumBuffers) {
    NetRig rig(12);
    rig.activate();
    const auto buffers = rig.post_rx(2, 4096);
    rig.kick(ns::kRxQueue);
    const auto frame = frame_to(kNicMac, 5000);
    std::vector<uint8_t> with_header(12);
    const ns::NetHeader header{
        ns::kHeaderNeedsCsum, ns::kGsoTcpv4 | ns::kGsoEcn, 66, 1448, 34, 16, 99};
    std::memcpy(with_header.data(), &header, 12);
    with_header.insert(with_header.end(), frame.begin(), frame.end());
    EXPECT_EQ(rig.backend.inject(with_header), 1u);
    const auto got = rig.rx().get<ns::NetHeader>(buffers[0]);
    EXPECT_EQ(got.flags, ns::kHeaderNeedsCsum);
    EXPECT_EQ(got.gso_type, ns::kGsoTcpv4 | ns::kGsoEcn);
    EXPECT_EQ(got.gso_size, 1448);
    EXPECT_EQ(got.num_buffers, 2);
    EXPECT_EQ(rig.device->counters().rx_bytes, 5000u);
}

TEST(VirtioNetRx, BackendOffloadTheGuestRefusedIsDroppedAndAdviceCleared) {
    NetRig rig(12);
    // The guest takes no receive offloads at all.
    rig.activate(rig.device->device_features() &
                 ~(ns::kGuestCsum | ns::kGuestTso4 | ns::kGuestTso6 | ns::kGuestEcn));
    const auto buffers = rig.post_rx(4, 2048);
    rig.kick(ns::kRxQueue);
    auto with = [](ns::NetHeader header, const std::vector<uint8_t>& frame) {
        std::vector<uint8_t> out(12);
        std::memcpy(out.data(), &header, 12);
        out.insert(out.end(), frame.begin(), frame.end());
        return out;
    };
    rig.backend.inject(with({ns::kHeaderNeedsCsum, 0, 0, 0, 34, 16, 0}, frame_to(kNicMac, 100)));
    rig.backend.inject(
        with({ns::kHeaderNeedsCsum, ns::kGsoTcpv4, 54, 1448, 34, 16, 0}, frame_to(kNicMac, 100)));
    EXPECT_EQ(rig.device->counters().rx_dropped_bad_header, 2u);
    // DATA_VALID is only advice: cleared, frame delivered.
    rig.backend.inject(with({ns::kHeaderDataValid, 0, 0, 0, 0, 0, 0}, frame_to(kNicMac, 100)));
    ASSERT_EQ(rig.rx().used_idx(), 1);
    EXPECT_EQ(rig.rx().get<ns::NetHeader>(buffers[0]).flags, 0);
}

TEST(VirtioNetRx, RuntFramesAreDropped) {
    NetRig rig;
    rig.activate();
    rig.post_rx(2, 2048);
    rig.kick(ns::kRxQueue);
    rig.backend.inject(std::vector<uint8_t>(10, 0xFF));
    EXPECT_EQ(rig.rx().used_idx(), 0);
    EXPECT_EQ(rig.device->counters().rx_dropped_runt, 1u);
}

}  // namespace
}  // namespace hvmm::virtio::testing
