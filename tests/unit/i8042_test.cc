#include "devices/platform/i8042.h"

#include <gtest/gtest.h>

#include "devices/platform/acpi_power.h"

namespace hvmm {
namespace {

class CountedPower final : public PowerEvents {
  public:
    void reset_requested() override { ++resets; }
    void poweroff_requested() override { ++poweroffs; }
    int resets = 0;
    int poweroffs = 0;
};

uint8_t in(BusDevice& device, uint16_t port, uint64_t offset = 0) {
    uint8_t value = 0;
    device.read(BusAccess{port, offset, 0}, std::span(&value, 1));
    return value;
}
void out(BusDevice& device, uint16_t port, uint8_t value, uint64_t offset = 0) {
    device.write(BusAccess{port, offset, 0}, std::span<const uint8_t>(&value, 1));
}

TEST(I8042, CommandFeIsAReset) {
    CountedPower power;
    I8042 controller(power);
    out(controller, 0x64, 0xFE);
    EXPECT_EQ(power.resets, 1);
}

TEST(I8042, StatusHasNothingToReadUntilACommandAnswers) {
    CountedPower power;
    I8042 controller(power);
    EXPECT_EQ(in(controller, 0x64) & 0x01, 0);
    out(controller, 0x64, 0xAA);  // self test
    EXPECT_EQ(in(controller, 0x64) & 0x01, 0x01);
    EXPECT_EQ(in(controller, 0x60), 0x55);
    EXPECT_EQ(in(controller, 0x64) & 0x01, 0);
}

TEST(I8042, CommandByteWrittenThroughPort60ReadsBack) {
    CountedPower power;
    I8042 controller(power);
    out(controller, 0x64, 0x60);
    out(controller, 0x60, 0x47);
    out(controller, 0x64, 0x20);
    EXPECT_EQ(in(controller, 0x60), 0x47);
    EXPECT_EQ(power.resets, 0);
}

TEST(I8042, OutputPortWithResetBitLowIsAReset) {
    CountedPower power;
    I8042 controller(power);
    out(controller, 0x64, 0xD1);
    out(controller, 0x60, 0x01);  // reset line high: no reset
    EXPECT_EQ(power.resets, 0);
    out(controller, 0x64, 0xD1);
    out(controller, 0x60, 0x00);
    EXPECT_EQ(power.resets, 1);
}

TEST(AcpiPower, SleepTypeFiveWithSleepEnablePowersOff) {
    CountedPower power;
    AcpiPower acpi(power);
    out(acpi, 0x600, 5 << 2, 0);  // type without SLP_EN: nothing
    EXPECT_EQ(power.poweroffs, 0);
    out(acpi, 0x600, 0x20 | (3 << 2), 0);  // S3: not supported
    EXPECT_EQ(power.poweroffs, 0);
    out(acpi, 0x600, 0x20 | (5 << 2), 0);
    EXPECT_EQ(power.poweroffs, 1);
}

TEST(AcpiPower, GuestStatusPortKeepsTheLastValue) {
    CountedPower power;
    AcpiPower acpi(power);
    EXPECT_FALSE(acpi.guest_status());
    out(acpi, 0x602, 3, 2);
    out(acpi, 0x602, 42, 2);
    EXPECT_EQ(acpi.guest_status(), 42);
    EXPECT_EQ(in(acpi, 0x602, 2), 42);
}

}  // namespace
}  // namespace hvmm
