// Host-side tests of iotime's pure parts (the tool itself runs in the guest and needs root and a
// PCnet NIC): the command line, sysfs `resource` lines, the kernel log's TSC lines, statistics.
#include "parse.h"

#include <gtest/gtest.h>

namespace iotime {
namespace {

std::optional<Options> parse(std::vector<std::string> args, std::string* error) {
    return parse_options(args, error);
}

TEST(IotimeOptions, DefaultsAndValues) {
    std::string e;
    auto o = parse({}, &e);
    ASSERT_TRUE(o);
    EXPECT_EQ(o->iterations, 20000);
    EXPECT_EQ(o->batch, 100);
    EXPECT_FALSE(o->port);
    o = parse({"-n", "500", "--batch=50", "--unbind", "--json"}, &e);
    ASSERT_TRUE(o) << e;
    EXPECT_EQ(o->iterations, 500);
    EXPECT_EQ(o->batch, 50);
    EXPECT_TRUE(o->unbind);
    EXPECT_EQ(o->format, Format::kJson);
    o = parse({"--port", "0xc010", "--width", "2", "--value=0x1234", "--kv"}, &e);
    ASSERT_TRUE(o) << e;
    EXPECT_EQ(*o->port, 0xc010);
    EXPECT_EQ(o->width, 2);
    EXPECT_EQ(o->value, 0x1234u);
    EXPECT_EQ(o->format, Format::kKeyValue);
    // Fewer iterations than a batch: one batch of all of them.
    o = parse({"-n", "10"}, &e);
    ASSERT_TRUE(o);
    EXPECT_EQ(o->batch, 10);
}

TEST(IotimeOptions, BadArgumentsSayWhy) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--bogus"}, {"-n"}, {"-n", "0"}, {"-n", "-5"}, {"-n", "12x"}, {"--batch", "0"},
             {"--port", "0x10000"}, {"--port", "70000"}, {"--width", "3"}, {"--port", "0x81", "--width", "2"},
             {"--value", "0x100000000"}, {"--port", "0x80", "--unbind"}}) {
        std::string e;
        EXPECT_FALSE(parse(args, &e)) << args[0];
        EXPECT_FALSE(e.empty());
        EXPECT_EQ(e.find('\n'), std::string::npos);
    }
}

TEST(IotimeSysfs, Bar0IoRange) {
    auto r = parse_bar0_io(
        "0x000000000000c000 0x000000000000c01f 0x0000000000040101\n"
        "0x00000000febf1000 0x00000000febf101f 0x0000000000040200\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->start, 0xc000u);
    EXPECT_EQ(r->end, 0xc01fu);
    // A memory BAR0, an unassigned BAR0 and garbage are not I/O windows.
    EXPECT_FALSE(parse_bar0_io("0x00000000febf1000 0x00000000febf101f 0x0000000000040200\n"));
    EXPECT_FALSE(parse_bar0_io("0x0000000000000000 0x0000000000000000 0x0000000000000000\n"));
    EXPECT_FALSE(parse_bar0_io("junk\n"));
    EXPECT_FALSE(parse_bar0_io(""));
}

TEST(IotimeTsc, RefinedCalibrationWinsOverDetected) {
    const char* log =
        "<6>[    0.000000] tsc: Detected 2994.374 MHz processor\n"
        "<6>[    0.100000] other: 5 MHz noise\n"
        "<6>[    1.234567] tsc: Refined TSC clocksource calibration: 2994.999 MHz\n";
    auto r = parse_tsc_from_log(log);
    ASSERT_TRUE(r);
    EXPECT_DOUBLE_EQ(r->mhz, 2994.999);
    EXPECT_EQ(r->source, "tsc: Refined TSC clocksource calibration: 2994.999 MHz");
}

TEST(IotimeTsc, DetectedFormsAndKmsg) {
    auto r = parse_tsc_from_log("[    0.000000] tsc: Detected 2445.406 MHz processor\n");
    ASSERT_TRUE(r);
    EXPECT_DOUBLE_EQ(r->mhz, 2445.406);
    r = parse_tsc_from_log("6,12,0,-;tsc: Detected 1800.000 MHz TSC\n");
    ASSERT_TRUE(r);
    EXPECT_DOUBLE_EQ(r->mhz, 1800.0);
    EXPECT_FALSE(parse_tsc_from_log("[ 0.0] cpu: 3000 MHz something\n[ 0.1] tsc: Detected MHz processor\n"));
    EXPECT_FALSE(parse_tsc_from_log(""));
}

TEST(IotimeStats, MedianOfBatches) {
    auto s = summarize({10, 1000, 12, 11, 13}, 100);
    EXPECT_EQ(s.iterations, 500);
    EXPECT_DOUBLE_EQ(s.median_cycles, 12);
    EXPECT_DOUBLE_EQ(s.mean_cycles, 1046.0 / 5);
    EXPECT_DOUBLE_EQ(s.min_cycles, 10);
    EXPECT_DOUBLE_EQ(summarize({4, 2}, 1).median_cycles, 3);
    EXPECT_EQ(summarize({}, 100).iterations, 0);
}

}  // namespace
}  // namespace iotime
