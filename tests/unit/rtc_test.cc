#include "devices/platform/cmos_rtc.h"

#include <gtest/gtest.h>

namespace hvmm {
namespace {

// 2026-11-25 04:31:07 UTC, a Wednesday.
constexpr std::time_t kFixedTime = 1795581067;

class RtcTest : public ::testing::Test {
  protected:
    uint8_t read_register(uint8_t index) {
        uint8_t value = index;
        rtc.write(BusAccess{0x70, 0, 0}, std::span<const uint8_t>(&value, 1));
        rtc.read(BusAccess{0x71, 1, 0}, std::span(&value, 1));
        return value;
    }
    void write_register(uint8_t index, uint8_t value) {
        rtc.write(BusAccess{0x70, 0, 0}, std::span<const uint8_t>(&index, 1));
        rtc.write(BusAccess{0x71, 1, 0}, std::span<const uint8_t>(&value, 1));
    }
    CmosRtc rtc{[] { return kFixedTime; }};
};

TEST_F(RtcTest, FixedTimeIsTheOneTheTestsAssume) {
    std::tm utc{};
    gmtime_r(&kFixedTime, &utc);
    ASSERT_EQ(utc.tm_year + 1900, 2026);
    ASSERT_EQ(utc.tm_hour, 4);
    ASSERT_EQ(utc.tm_min, 31);
    ASSERT_EQ(utc.tm_sec, 7);
}

TEST_F(RtcTest, TimeReadsInBcdByDefault) {
    EXPECT_EQ(read_register(0x00), 0x07);
    EXPECT_EQ(read_register(0x02), 0x31);
    EXPECT_EQ(read_register(0x04), 0x04);
    EXPECT_EQ(read_register(0x07), 0x25);
    EXPECT_EQ(read_register(0x08), 0x11);
    EXPECT_EQ(read_register(0x09), 0x26);
    EXPECT_EQ(read_register(0x32), 0x20);
    EXPECT_EQ(read_register(0x06), 0x04);  // Wednesday: day 4 counting Sunday as 1
}

TEST_F(RtcTest, BinaryModeFromRegisterBGivesBinaryValues) {
    write_register(0x0B, 0x06);  // binary, 24-hour
    EXPECT_EQ(read_register(0x02), 31);
    EXPECT_EQ(read_register(0x07), 25);
    EXPECT_EQ(read_register(0x09), 26);
}

TEST_F(RtcTest, StatusRegistersHaveSaneValues) {
    EXPECT_EQ(read_register(0x0A) & 0x80, 0);     // no update in progress
    EXPECT_EQ(read_register(0x0B) & 0x02, 0x02);  // 24-hour mode
    EXPECT_EQ(read_register(0x0D), 0x80);         // valid RAM and time
    EXPECT_EQ(read_register(0x0C), 0x00);
}

TEST_F(RtcTest, TwelveHourModeIsNotHonoured) {
    write_register(0x0B, 0x00);
    EXPECT_EQ(read_register(0x0B) & 0x02, 0x02);
}

TEST_F(RtcTest, GuestCannotSetTheClock) {
    write_register(0x00, 0x59);
    EXPECT_EQ(read_register(0x00), 0x07);
}

TEST_F(RtcTest, CmosRamKeepsWhatIsWritten) {
    write_register(0x40, 0xA5);
    EXPECT_EQ(read_register(0x40), 0xA5);
}

TEST_F(RtcTest, NmiMaskBitDoesNotChangeTheIndex) {
    EXPECT_EQ(read_register(0x80 | 0x02), 0x31);
}

}  // namespace
}  // namespace hvmm
