// virtio-net transmit: header stripped, gather lists into guest RAM, hostile chains, batching.
#include <gtest/gtest.h>

#include "virtio_net_test_rig.h"

namespace hvmm::virtio::testing {
namespace {

bool points_into(const GuestMemory& memory, const iovec& part, uint64_t guest_address) {
    const auto span = memory.span(GuestAddress(guest_address), part.iov_len);
    return span && span->data() == part.iov_base;
}

TEST(VirtioNetTx, SendsOneFrameWithoutItsHeaderFromGuestRamInPlace) {
    NetRig rig;
    rig.activate();
    const auto frame = frame_to(kOtherMac, 100);
    const uint64_t at = rig.post_tx(frame);
    rig.kick(ns::kTxQueue);
    ASSERT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.backend.sent[0], frame);
    // No bounce buffer: the one iovec is the guest's own bytes after the header.
    ASSERT_EQ(rig.backend.sent_iovecs[0].size(), 1u);
    EXPECT_TRUE(points_into(rig.memory, rig.backend.sent_iovecs[0][0], at));
    EXPECT_EQ(rig.tx().used_idx(), 1);
    EXPECT_EQ(rig.tx().used(0).len, 0u);
    const auto counters = rig.device->counters();
    EXPECT_EQ(counters.tx_frames, 1u);
    EXPECT_EQ(counters.tx_bytes, 100u);
    EXPECT_EQ(counters.tx_kicks, 1u);
}

TEST(VirtioNetTx, FrameOverSeveralDescriptorsBecomesOneGatherList) {
    NetRig rig;
    rig.activate();
    const auto frame = frame_to(kOtherMac, 300);
    // The header split 5 + 7 over two descriptors, the frame over two more.
    const uint64_t h = rig.tx().alloc(12), a = rig.tx().alloc(100), b = rig.tx().alloc(200);
    rig.tx().fill(h, std::vector<uint8_t>(12, 0));
    rig.tx().fill(a, std::span(frame).first(100));
    rig.tx().fill(b, std::span(frame).subspan(100));
    rig.tx().add_chain({{h, 5}, {h + 5, 7}, {a, 100}, {b, 200}});
    rig.kick(ns::kTxQueue);
    ASSERT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.backend.sent[0], frame);
    ASSERT_EQ(rig.backend.sent_iovecs[0].size(), 2u);
    EXPECT_TRUE(points_into(rig.memory, rig.backend.sent_iovecs[0][0], a));
    EXPECT_TRUE(points_into(rig.memory, rig.backend.sent_iovecs[0][1], b));
}

TEST(VirtioNetTx, ManyFramesInOneKickAreOneBatchAndOneNotification) {
    NetRig rig;
    rig.activate();
    for (uint8_t i = 0; i < 20; ++i) rig.post_tx(frame_to(kOtherMac, 60 + i, i));
    rig.kick(ns::kTxQueue);
    ASSERT_EQ(rig.backend.sent.size(), 20u);
    for (uint8_t i = 0; i < 20; ++i) EXPECT_EQ(rig.backend.sent[i], frame_to(kOtherMac, 60 + i, i));
    EXPECT_EQ(rig.tx().used_idx(), 20);
    EXPECT_EQ(rig.interrupt.used[ns::kTxQueue], 1u);
    const auto counters = rig.device->counters();
    EXPECT_EQ(counters.tx_batches, 1u);
    EXPECT_EQ(counters.tx_notifications, 1u);
}

TEST(VirtioNetTx, EventIdxDecidesTheNotificationOncePerBatch) {
    NetRig rig;
    rig.activate();  // EVENT_IDX is offered and accepted
    ASSERT_TRUE(rig.accepted & kFeatureEventIdx);
    // The driver asks to hear when used entry 0 is written (used_event 0): the first batch
    // crosses it, the second does not.
    rig.tx().set_used_event(0);
    for (int i = 0; i < 5; ++i) rig.post_tx(frame_to(kOtherMac, 64));
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.interrupt.used[ns::kTxQueue], 1u);
    for (int i = 0; i < 5; ++i) rig.post_tx(frame_to(kOtherMac, 64));
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.interrupt.used[ns::kTxQueue], 1u);
    // Now it asks for entry 12: the batch that writes entries 10..14 crosses it.
    rig.tx().set_used_event(12);
    for (int i = 0; i < 5; ++i) rig.post_tx(frame_to(kOtherMac, 64));
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.interrupt.used[ns::kTxQueue], 2u);
    EXPECT_EQ(rig.backend.sent.size(), 15u);
    // While draining, the device asked for the next kick at the entry it takes next.
    EXPECT_EQ(rig.tx().avail_event(), 15);
}

TEST(VirtioNetTx, ChainShorterThanTheHeaderIsAnsweredEmptyAndNeverSent) {
    // CVE-2023-6693: a device that read the header anyway sent bytes it did not have.
    NetRig rig;
    rig.activate();
    const uint64_t at = rig.tx().alloc(16);
    rig.tx().add_chain({{at, 11}});
    rig.tx().add_chain({{at, 0}});
    rig.post_tx(frame_to(kOtherMac, 60));
    rig.kick(ns::kTxQueue);
    ASSERT_EQ(rig.backend.sent.size(), 1u) << "only the good frame after them";
    EXPECT_EQ(rig.tx().used_idx(), 3);
    EXPECT_EQ(rig.tx().used(0).len, 0u);
    EXPECT_EQ(rig.device->counters().tx_dropped_short_header, 2u);
}

TEST(VirtioNetTx, RuntAndOversizeFramesAreDroppedAndCounted) {
    NetRig rig;
    rig.activate();
    rig.post_tx(std::vector<uint8_t>(13, 1));
    // 64 KiB of MTU plus the Ethernet header is the most any backend carries.
    const uint64_t big = rig.tx().alloc(12 + 70000);
    rig.tx().add_chain({{big, 12 + 70000}});
    rig.kick(ns::kTxQueue);
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_EQ(rig.tx().used_idx(), 2);
    const auto counters = rig.device->counters();
    EXPECT_EQ(counters.tx_dropped_runt, 1u);
    EXPECT_EQ(counters.tx_dropped_oversize, 1u);
}

TEST(VirtioNetTx, MalformedChainIsReturnedWithLengthZero) {
    NetRig rig;
    rig.activate();
    // A buffer over the MMIO hole: the queue refuses the chain.
    rig.tx().add_chain({{kHoleStart, 100}});
    rig.post_tx(frame_to(kOtherMac, 60));
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.tx().used_idx(), 2);
    EXPECT_EQ(rig.tx().used(0).len, 0u);
    EXPECT_EQ(rig.device->counters().tx_malformed_chains, 1u);
}

TEST(VirtioNetTx, WritableOnlyChainCarriesNoHeaderAndIsDropped) {
    NetRig rig;
    rig.activate();
    rig.tx().add_chain({{rig.tx().alloc(64), 64, true}});
    rig.kick(ns::kTxQueue);
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_EQ(rig.device->counters().tx_dropped_short_header, 1u);
}

// An IPv4/UDP frame whose UDP checksum field holds the pseudo-header sum, as a driver leaves it
// with NEEDS_CSUM (csum_start 34, csum_offset 6).
std::vector<uint8_t> partial_udp_frame(size_t length) {
    auto frame = frame_to(kOtherMac, length);
    frame[40] = 0x12, frame[41] = 0x34;  // the pseudo-header sum the guest computed
    return frame;
}

// The Internet checksum over bytes, not complemented (0xFFFF over a correctly summed range).
uint16_t ones_complement_sum(std::span<const uint8_t> bytes) {
    uint32_t sum = 0;
    for (size_t i = 0; i < bytes.size(); i += 2) {
        sum += static_cast<uint32_t>(bytes[i] << 8 | (i + 1 < bytes.size() ? bytes[i + 1] : 0));
    }
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

TEST(VirtioNetTx, WithoutAVnetHeaderBackendTheDeviceCompletesAPartialChecksum) {
    NetRig rig;  // no vnet header: CSUM offered, done in software
    rig.activate();
    ASSERT_TRUE(rig.accepted & ns::kCsum);
    for (const size_t length : {size_t{81}, size_t{1514}}) {  // odd and even
        const auto frame = partial_udp_frame(length);
        rig.post_tx(frame, ns::NetHeader{ns::kHeaderNeedsCsum, 0, 0, 0, 34, 6, 0});
    }
    rig.kick(ns::kTxQueue);
    ASSERT_EQ(rig.backend.sent.size(), 2u);
    for (const auto& sent : rig.backend.sent) {
        // What the receiver checks: the pseudo-header sum plus the covered bytes (with the
        // stored checksum) is all ones. The guest's pseudo-header sum was in the field when
        // the device summed, so it is accounted for exactly once.
        std::vector<uint8_t> checked{0x12, 0x34};
        checked.insert(checked.end(), sent.begin() + 34, sent.end());
        EXPECT_EQ(ones_complement_sum(checked), 0xFFFF);
        const auto original = partial_udp_frame(sent.size());
        EXPECT_TRUE(std::equal(original.begin(), original.begin() + 40, sent.begin()));
        EXPECT_TRUE(std::equal(original.begin() + 42, original.end(), sent.begin() + 42));
    }
    EXPECT_EQ(rig.device->counters().tx_checksummed, 2u);
}

TEST(VirtioNetTx, WithoutAVnetHeaderBackendSegmentationIsRefused) {
    NetRig rig;  // HOST_TSO was never offered: hvmm does not segment in software
    rig.activate();
    rig.post_tx(frame_to(kOtherMac, 200),
                {ns::kHeaderNeedsCsum, ns::kGsoTcpv4, 54, 100, 34, 16, 0});
    rig.post_tx(frame_to(kOtherMac, 80), {ns::kHeaderNeedsCsum, 0, 0, 0, 70, 16, 0});
    rig.kick(ns::kTxQueue);
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_EQ(rig.device->counters().tx_dropped_bad_header, 2u);
}

TEST(VirtioNetTx, ChecksumRequestWithoutTheFeatureIsRefused) {
    NetRig rig;
    rig.activate(rig.device->device_features() & ~ns::kCsum);
    rig.post_tx(frame_to(kOtherMac, 80), ns::NetHeader{ns::kHeaderNeedsCsum, 0, 0, 0, 34, 16, 0});
    rig.kick(ns::kTxQueue);
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_EQ(rig.device->counters().tx_dropped_bad_header, 1u);
}

TEST(VirtioNetTx, VnetHeaderBackendGetsTheCheckedHeaderThenTheFrame) {
    NetRig rig(12);
    rig.activate();
    ASSERT_TRUE(rig.accepted & ns::kHostTso4);
    const auto frame = frame_to(kOtherMac, 1000);
    const ns::NetHeader header{
        ns::kHeaderNeedsCsum | ns::kHeaderDataValid, ns::kGsoTcpv4, 54, 1448, 34, 16, 7};
    rig.post_tx(frame, header);
    rig.kick(ns::kTxQueue);
    ASSERT_EQ(rig.backend.sent.size(), 1u);
    ASSERT_EQ(rig.backend.sent[0].size(), 12 + frame.size());
    ns::NetHeader sent{};
    std::memcpy(&sent, rig.backend.sent[0].data(), 12);
    EXPECT_EQ(sent.flags, ns::kHeaderNeedsCsum) << "only NEEDS_CSUM means something on TX";
    EXPECT_EQ(sent.gso_type, ns::kGsoTcpv4);
    EXPECT_EQ(sent.gso_size, 1448);
    EXPECT_EQ(sent.csum_start, 34);
    EXPECT_EQ(sent.num_buffers, 0);
    EXPECT_TRUE(std::equal(frame.begin(), frame.end(), rig.backend.sent[0].begin() + 12));
    EXPECT_EQ(rig.device->counters().tx_bytes, 1000u);
}

TEST(VirtioNetTx, VnetHeaderWithUnnegotiatedOrOutOfFrameOffloadIsDropped) {
    NetRig rig(12);
    // Everything but HOST_TSO6.
    rig.activate(rig.device->device_features() & ~ns::kHostTso6);
    const auto frame = frame_to(kOtherMac, 200);
    rig.post_tx(frame, {ns::kHeaderNeedsCsum, ns::kGsoTcpv6, 74, 1428, 54, 16, 0});
    rig.post_tx(frame, {ns::kHeaderNeedsCsum, 0, 0, 0, 190, 16, 0});  // checksum past the end
    rig.post_tx(frame, {0, ns::kGsoTcpv4, 54, 1448, 34, 16, 0});      // GSO without a csum
    rig.post_tx(frame, {ns::kHeaderNeedsCsum, ns::kGsoUdp, 42, 1400, 34, 6, 0});
    rig.kick(ns::kTxQueue);
    EXPECT_TRUE(rig.backend.sent.empty());
    EXPECT_EQ(rig.device->counters().tx_dropped_bad_header, 4u);
    EXPECT_EQ(rig.tx().used_idx(), 4);
}

TEST(VirtioNetTx, AKickBeforeActivationOrAfterResetDoesNothing) {
    NetRig rig;
    rig.device->service_queue(ns::kTxQueue);
    rig.activate();
    rig.post_tx(frame_to(kOtherMac, 60));
    rig.reset();
    rig.device->service_queue(ns::kTxQueue);
    EXPECT_TRUE(rig.backend.sent.empty());
}

}  // namespace
}  // namespace hvmm::virtio::testing
