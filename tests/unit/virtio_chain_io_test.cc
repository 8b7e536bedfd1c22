// Reading and writing a chain's bytes across its buffers, and handing them out as iovecs.
#include "devices/virtio/queue/chain_io.h"

#include <gtest/gtest.h>

#include <array>
#include <numeric>
#include <vector>

#include "virtio_mock_driver.h"

namespace hvmm::virtio::testing {
namespace {

std::vector<uint8_t> counting(size_t n, uint8_t first = 0) {
    std::vector<uint8_t> v(n);
    std::iota(v.begin(), v.end(), first);
    return v;
}

TEST(VirtioChainIo, ReaderReadsAcrossBufferBoundaries) {
    VirtqRig rig;
    const uint64_t a = rig.driver.alloc(5), b = rig.driver.alloc(7);
    rig.driver.fill(a, counting(5, 0));
    rig.driver.fill(b, counting(7, 5));
    rig.driver.add_chain({{a, 5}, {b, 7}});
    auto chain = rig.pop_chain();
    ASSERT_TRUE(chain);
    auto reader = chain->reader();
    std::array<uint8_t, 3> head{};
    EXPECT_EQ(reader.read(head), 3u);
    EXPECT_EQ(head, (std::array<uint8_t, 3>{0, 1, 2}));
    std::vector<uint8_t> rest(20);
    EXPECT_EQ(reader.read(rest), 9u);
    rest.resize(9);
    EXPECT_EQ(rest, counting(9, 3));
    EXPECT_EQ(reader.remaining(), 0u);
    EXPECT_EQ(reader.consumed(), 12u);
}

TEST(VirtioChainIo, ReadExactAtTheEndOfTheChainFailsWithoutMoving) {
    VirtqRig rig;
    const uint64_t a = rig.driver.alloc(10);
    rig.driver.add_chain({{a, 10}});
    auto chain = rig.pop_chain();
    ASSERT_TRUE(chain);
    auto reader = chain->reader();
    std::array<uint8_t, 12> header{};
    EXPECT_FALSE(reader.read_exact(header));  // end of chain, not an error
    EXPECT_EQ(reader.remaining(), 10u);
    EXPECT_FALSE((reader.read_obj<std::array<uint8_t, 11>>()));
    EXPECT_TRUE(reader.read_obj<uint64_t>());
    EXPECT_EQ(reader.remaining(), 2u);
    EXPECT_EQ(reader.read(header), 2u);
    EXPECT_EQ(reader.read(header), 0u);
}

TEST(VirtioChainIo, WriterFillsOnlyTheWritableBuffersAndCountsWhatItWrote) {
    VirtqRig rig;
    const uint64_t in = rig.driver.alloc(4), out1 = rig.driver.alloc(3), out2 = rig.driver.alloc(8);
    rig.driver.add_chain({{in, 4}, {out1, 3, true}, {out2, 8, true}});
    auto chain = rig.pop_chain();
    ASSERT_TRUE(chain);
    auto writer = chain->writer();
    EXPECT_EQ(writer.remaining(), 11u);
    EXPECT_TRUE(writer.write_exact(counting(5, 100)));
    EXPECT_EQ(writer.bytes_written(), 5u);
    EXPECT_EQ(rig.driver.bytes(out1, 3), counting(3, 100));
    EXPECT_EQ(rig.driver.bytes(out2, 2), counting(2, 103));
    EXPECT_EQ(rig.driver.bytes(in, 4), std::vector<uint8_t>(4, 0));  // readable: untouched
    EXPECT_FALSE(writer.write_exact(counting(7)));
    EXPECT_EQ(writer.write(counting(7)), 6u);
    EXPECT_EQ(writer.bytes_written(), 11u);
    EXPECT_FALSE(writer.write_obj(uint8_t{1}));
}

TEST(VirtioChainIo, IovecsStartWhereTheCursorIsAndStopAtTheLimit) {
    VirtqRig rig;
    const uint64_t a = rig.driver.alloc(10), b = rig.driver.alloc(20), c = rig.driver.alloc(30);
    rig.driver.add_chain({{a, 10, true}, {b, 20, true}, {c, 30, true}});
    auto chain = rig.pop_chain();
    ASSERT_TRUE(chain);
    auto writer = chain->writer();
    writer.advance(4);
    std::array<iovec, 8> iov{};
    ASSERT_EQ(writer.copy_iovecs(iov, 40), 3u);
    EXPECT_EQ(iov[0].iov_base, rig.memory.span(GuestAddress(a + 4), 6)->data());
    EXPECT_EQ(iov[0].iov_len, 6u);
    EXPECT_EQ(iov[1].iov_len, 20u);
    EXPECT_EQ(iov[2].iov_len, 14u);
    EXPECT_EQ(writer.remaining(), 56u);  // copy_iovecs does not move the cursor
    // Too few entries: stops when out is full.
    EXPECT_EQ(writer.copy_iovecs(std::span(iov).first(1), 1000), 1u);
    EXPECT_EQ(iov[0].iov_len, 6u);
    writer.advance(26);
    ASSERT_EQ(writer.copy_iovecs(iov, 1000), 1u);
    EXPECT_EQ(iov[0].iov_base, rig.memory.span(GuestAddress(c), 30)->data());
    EXPECT_EQ(iov[0].iov_len, 30u);
    EXPECT_EQ(writer.advance(100), 30u);
    EXPECT_EQ(writer.copy_iovecs(iov, 1000), 0u);
}

TEST(VirtioChainIo, IovecsOfAnIndirectChainPointIntoGuestRam) {
    VirtqRig rig(16, false, true);
    const uint64_t a = rig.driver.alloc(12), b = rig.driver.alloc(1500);
    rig.driver.fill(a, counting(12));
    rig.driver.add_indirect_chain({{a, 12}, {b, 1500}});
    auto chain = rig.pop_chain();
    ASSERT_TRUE(chain);
    auto reader = chain->reader();
    std::array<uint8_t, 12> header{};
    ASSERT_TRUE(reader.read_exact(header));
    std::array<iovec, 4> iov{};
    ASSERT_EQ(reader.copy_iovecs(iov, reader.remaining()), 1u);
    EXPECT_EQ(iov[0].iov_base, rig.memory.span(GuestAddress(b), 1500)->data());
    EXPECT_EQ(iov[0].iov_len, 1500u);
}

}  // namespace
}  // namespace hvmm::virtio::testing
