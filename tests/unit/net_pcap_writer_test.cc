#include "net/pcap_writer.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "net/recording_backend.h"
#include "net/socketpair/socketpair_backend.h"
#include "net_test_sink.h"

namespace hvmm {
namespace {

using testing::RecordingSink;
using testing::test_frame;

std::string temp_path(const char* tag) {
    return fmt::format("/tmp/hvmm-{}-{}.pcap", tag, ::getpid());
}

std::vector<uint8_t> slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t u32(const std::vector<uint8_t>& bytes, size_t at) {
    uint32_t value;
    std::memcpy(&value, bytes.data() + at, 4);
    return value;
}

uint16_t u16(const std::vector<uint8_t>& bytes, size_t at) {
    uint16_t value;
    std::memcpy(&value, bytes.data() + at, 2);
    return value;
}

TEST(NetPcapWriter, FileStartsWithClassicEthernetHeader) {
    const auto path = temp_path("header");
    ASSERT_TRUE(PcapWriter::create(path));
    const auto bytes = slurp(path);
    ::unlink(path.c_str());
    ASSERT_EQ(bytes.size(), 24u);
    EXPECT_EQ(u32(bytes, 0), 0xA1B2C3D4u);
    EXPECT_EQ(u16(bytes, 4), 2);
    EXPECT_EQ(u16(bytes, 6), 4);
    EXPECT_EQ(u32(bytes, 8), 0u);
    EXPECT_EQ(u32(bytes, 16), 65535u);
    EXPECT_EQ(u32(bytes, 20), 1u) << "LINKTYPE_ETHERNET";
}

TEST(NetPcapWriter, RecordHoldsTimestampLengthsAndGatheredBytes) {
    const auto path = temp_path("record");
    auto writer = PcapWriter::create(path);
    ASSERT_TRUE(writer);
    const auto frame = test_frame(9, 70);
    const std::array<iovec, 2> parts{iovec{const_cast<uint8_t*>(frame.data()), 20},
                                     iovec{const_cast<uint8_t*>(frame.data()) + 20, 50}};
    ASSERT_TRUE(writer->record(parts, timespec{.tv_sec = 1700000000, .tv_nsec = 123456789}));
    const auto bytes = slurp(path);
    ::unlink(path.c_str());
    ASSERT_EQ(bytes.size(), 24u + 16u + 70u);
    EXPECT_EQ(u32(bytes, 24), 1700000000u);
    EXPECT_EQ(u32(bytes, 28), 123456u);
    EXPECT_EQ(u32(bytes, 32), 70u);
    EXPECT_EQ(u32(bytes, 36), 70u);
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 40, bytes.end()), frame);
}

TEST(NetPcapWriter, FrameLongerThanSnapLengthIsCutButKeepsItsLength) {
    const auto path = temp_path("snap");
    auto writer = PcapWriter::create(path);
    ASSERT_TRUE(writer);
    std::vector<uint8_t> jumbo(70000, 0x11);
    const iovec one{jumbo.data(), jumbo.size()};
    ASSERT_TRUE(writer->record(std::span<const iovec>(&one, 1), timespec{}));
    const auto bytes = slurp(path);
    ::unlink(path.c_str());
    ASSERT_EQ(bytes.size(), 24u + 16u + 65535u);
    EXPECT_EQ(u32(bytes, 32), 65535u);
    EXPECT_EQ(u32(bytes, 36), 70000u);
}

TEST(NetPcapWriter, UnwritablePathIsAnErrorNamingIt) {
    auto writer = PcapWriter::create("/nonexistent-dir/x.pcap");
    ASSERT_FALSE(writer);
    EXPECT_NE(writer.error().message.find("/nonexistent-dir/x.pcap"), std::string::npos);
}

TEST(NetPcapWriter, AFullDiskAtTheHeaderIsTheFirstRecordsErrorNotACreateError) {
    // /dev/full opens and refuses every write (ENOSPC): the run must go on without a capture.
    auto writer = PcapWriter::create("/dev/full");
    ASSERT_TRUE(writer) << writer.error().message;
    uint8_t frame[60] = {};
    const iovec part{frame, sizeof frame};
    auto recorded = writer->record({&part, 1}, timespec{});
    ASSERT_FALSE(recorded);
    EXPECT_NE(recorded.error().message.find("/dev/full"), std::string::npos);
    EXPECT_NE(recorded.error().message.find("No space left"), std::string::npos)
        << recorded.error().message;
}

TEST(NetRecordingBackend, RecordsBothDirectionsAndPassesFramesThrough) {
    const auto path = temp_path("both");
    auto inner = SocketpairBackend::create();
    ASSERT_TRUE(inner);
    const int peer = (*inner)->peer_fd();
    auto writer = PcapWriter::create(path);
    ASSERT_TRUE(writer);
    RecordingBackend backend(std::move(*inner), std::move(*writer));
    RecordingSink sink;
    backend.set_sink(&sink);

    const auto sent = test_frame(1, 60);
    backend.send(std::span<const uint8_t>(sent));
    std::vector<uint8_t> on_wire(100);
    ASSERT_EQ(::recv(peer, on_wire.data(), on_wire.size(), MSG_DONTWAIT), 60);

    const auto arriving = test_frame(2, 80);
    ASSERT_EQ(::send(peer, arriving.data(), arriving.size(), 0), 80);
    EXPECT_EQ(backend.poll_receive(), 1u);
    ASSERT_EQ(sink.frames.size(), 1u);
    EXPECT_EQ(sink.frames[0], arriving);
    EXPECT_EQ(backend.stats().tx_frames, 1u);
    EXPECT_EQ(backend.stats().rx_frames, 1u);

    const auto bytes = slurp(path);
    ::unlink(path.c_str());
    ASSERT_EQ(bytes.size(), 24u + 16u + 60u + 16u + 80u);
    EXPECT_EQ(u32(bytes, 32), 60u);
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 40, bytes.begin() + 100), sent);
    EXPECT_EQ(u32(bytes, 100 + 8), 80u);
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin() + 116, bytes.end()), arriving);
}

TEST(NetRecordingBackend, FullSinkBackPressureReachesTheInnerBackend) {
    const auto path = temp_path("pressure");
    auto inner = SocketpairBackend::create();
    ASSERT_TRUE(inner);
    const int peer = (*inner)->peer_fd();
    auto writer = PcapWriter::create(path);
    ASSERT_TRUE(writer);
    RecordingBackend backend(std::move(*inner), std::move(*writer));
    RecordingSink sink;
    sink.accepting = false;
    backend.set_sink(&sink);
    const auto arriving = test_frame(3);
    ASSERT_EQ(::send(peer, arriving.data(), arriving.size(), 0), 60);
    EXPECT_EQ(backend.poll_receive(), 0u);
    sink.accepting = true;
    EXPECT_EQ(backend.poll_receive(), 1u);
    EXPECT_EQ(slurp(path).size(), 24u + 16u + 60u) << "recorded once, when delivered";
    ::unlink(path.c_str());
}

}  // namespace
}  // namespace hvmm
