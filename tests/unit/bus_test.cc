#include "bus/bus.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <thread>

#include "../kvm/recording_device.h"

namespace hvmm {
namespace {

using test::RecordedAccess;
using test::RecordingDevice;

TEST(Bus, InsertRefusesZeroLength) {
    IoBus bus;
    RecordingDevice device;
    auto result = bus.insert(device, 0x100, 0);
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("zero length"), std::string::npos);
}

TEST(Bus, InsertRefusesARangeThatWrapsPastTheTop) {
    MmioBus bus;
    RecordingDevice device;
    EXPECT_FALSE(bus.insert(device, UINT64_MAX - 3, 8));
    // Ending exactly at the top is fine.
    EXPECT_TRUE(bus.insert(device, UINT64_MAX - 7, 8));
}

TEST(Bus, InsertRefusesOverlapOnEitherSideAndInside) {
    IoBus bus;
    RecordingDevice first("first"), second("second");
    ASSERT_TRUE(bus.insert(first, 0x100, 0x10));
    EXPECT_FALSE(bus.insert(second, 0x0F8, 0x10));   // runs into the start
    EXPECT_FALSE(bus.insert(second, 0x10F, 0x10));   // starts on the last byte
    EXPECT_FALSE(bus.insert(second, 0x104, 0x2));    // inside
    EXPECT_FALSE(bus.insert(second, 0x0F0, 0x100));  // around
    EXPECT_TRUE(bus.insert(second, 0x110, 0x10));    // adjacent after
    EXPECT_TRUE(bus.insert(second, 0x0F0, 0x10));    // adjacent before
}

TEST(Bus, OverlapMessageNamesBothDevices) {
    IoBus bus;
    RecordingDevice first("uart"), second("nic");
    ASSERT_TRUE(bus.insert(first, 0x3F8, 8));
    auto result = bus.insert(second, 0x3F8, 8);
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("uart"), std::string::npos);
    EXPECT_NE(result.error().message.find("nic"), std::string::npos);
}

TEST(Bus, AccessReachesTheDeviceWithOffsetAddressAndVcpu) {
    IoBus bus;
    RecordingDevice device;
    device.read_value = {0xAB, 0xCD};
    ASSERT_TRUE(bus.insert(device, 0xC000, 0x20));
    std::array<uint8_t, 2> read{};
    EXPECT_TRUE(bus.read(0xC010, read, 1));
    EXPECT_EQ(read, (std::array<uint8_t, 2>{0xAB, 0xCD}));
    const std::array<uint8_t, 4> written = {1, 2, 3, 4};
    EXPECT_TRUE(bus.write(0xC01C, written, 0));
    const std::vector<RecordedAccess> expected = {
        {false, 0xC010, 0x10, {0xAB, 0xCD}},
        {true, 0xC01C, 0x1C, {1, 2, 3, 4}},
    };
    EXPECT_EQ(device.accesses(), expected);
}

TEST(Bus, UnmappedReadFillsAllOnesAndIsCounted) {
    MmioBus bus;
    std::array<uint8_t, 4> data{};
    EXPECT_FALSE(bus.read(0xE000'0000, data, 0));
    EXPECT_EQ(data, (std::array<uint8_t, 4>{0xFF, 0xFF, 0xFF, 0xFF}));
    const std::array<uint8_t, 1> byte = {1};
    EXPECT_FALSE(bus.write(0xE000'0000, byte, 0));
    EXPECT_EQ(bus.unmapped_accesses(), 2u);
}

TEST(Bus, AccessRunningPastTheEndOfARangeIsUnmapped) {
    IoBus bus;
    RecordingDevice device;
    ASSERT_TRUE(bus.insert(device, 0x60, 1));
    std::array<uint8_t, 2> data{};
    EXPECT_FALSE(bus.read(0x60, data, 0));
    EXPECT_TRUE(device.accesses().empty());
}

TEST(Bus, RemoveUnmapsOnlyTheNamedDeviceAtItsBase) {
    IoBus bus;
    RecordingDevice device, other;
    ASSERT_TRUE(bus.insert(device, 0x100, 8));
    EXPECT_FALSE(bus.remove(other, 0x100));
    EXPECT_FALSE(bus.remove(device, 0x104));
    EXPECT_TRUE(bus.remove(device, 0x100));
    std::array<uint8_t, 1> data{};
    EXPECT_FALSE(bus.read(0x100, data, 0));
    EXPECT_TRUE(bus.insert(other, 0x100, 8));
}

// A device that moves itself while handling an access, as a PCI BAR write does through the
// host bridge: the bus must not hold its lock across the call.
class SelfMovingDevice final : public BusDevice {
  public:
    explicit SelfMovingDevice(Bus& bus) : bus_(bus) {}
    void read(const BusAccess&, std::span<uint8_t> data) override { data[0] = 1; }
    void write(const BusAccess& access, std::span<const uint8_t>) override {
        bus_.remove(*this, access.address - access.offset);
        moved_ = bus_.insert(*this, 0x2000, 0x10).has_value();
    }
    std::string_view name() const override { return "mover"; }
    bool moved_ = false;

  private:
    Bus& bus_;
};

TEST(Bus, ADeviceMayRemapItselfFromInsideItsHandler) {
    IoBus bus;
    SelfMovingDevice device(bus);
    ASSERT_TRUE(bus.insert(device, 0x1000, 0x10));
    const std::array<uint8_t, 1> byte = {0};
    EXPECT_TRUE(bus.write(0x1000, byte, 0));
    EXPECT_TRUE(device.moved_);
    std::array<uint8_t, 1> data{};
    EXPECT_FALSE(bus.read(0x1000, data, 0));
    EXPECT_TRUE(bus.read(0x2000, data, 0));
}

TEST(Bus, LookupsStayCorrectWhileAnotherThreadRemaps) {
    IoBus bus;
    RecordingDevice fixed("fixed"), moving("moving");
    ASSERT_TRUE(bus.insert(fixed, 0x10, 1));
    std::atomic<bool> done{false};
    std::thread remapper([&] {
        for (int i = 0; i < 2000; ++i) {
            ASSERT_TRUE(bus.insert(moving, 0x100, 4));
            ASSERT_TRUE(bus.remove(moving, 0x100));
        }
        done = true;
    });
    uint64_t reads = 0;
    std::array<uint8_t, 1> data{};
    while (!done) {
        ASSERT_TRUE(bus.read(0x10, data, 0));
        ++reads;
    }
    remapper.join();
    EXPECT_EQ(fixed.accesses().size(), reads);
}

}  // namespace
}  // namespace hvmm
