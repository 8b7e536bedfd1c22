// The MII PHY behind BCR32/BCR33/BCR34, and the link as the VMM sets it.
#include <gtest/gtest.h>

#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

uint16_t mdio_read(PcnetRig& rig, unsigned phy, unsigned reg) {
    rig.set_bcr(33, static_cast<uint16_t>((phy << 5) | reg));
    return rig.bcr(34);
}

TEST(PcnetPhy, Bcr32ReportsAPhyPresent) {
    PcnetRig rig;
    EXPECT_TRUE(rig.bcr(32) & 0x4000);
}

TEST(PcnetPhy, IdentifiersReadThroughBcr34) {
    PcnetRig rig;
    EXPECT_EQ(mdio_read(rig, 0, 2), 0x0022);
    EXPECT_EQ(mdio_read(rig, 0, 3), 0x561B);
}

TEST(PcnetPhy, OtherAddressesReadAllOnesLikeAnEmptyBus) {
    PcnetRig rig;
    EXPECT_EQ(mdio_read(rig, 5, 2), 0xFFFF);
}

TEST(PcnetPhy, BmsrShowsLinkAndLatchesADrop) {
    PcnetRig rig;
    EXPECT_TRUE(mdio_read(rig, 0, 1) & 0x0004);
    rig.chip.set_link_up(false);
    rig.chip.set_link_up(true);
    EXPECT_FALSE(mdio_read(rig, 0, 1) & 0x0004);  // the drop is reported once
    EXPECT_TRUE(mdio_read(rig, 0, 1) & 0x0004);
    rig.chip.set_link_up(false);
    EXPECT_FALSE(mdio_read(rig, 0, 1) & 0x0004);
    EXPECT_EQ(mdio_read(rig, 0, 5), 0);  // no partner without link
}

TEST(PcnetPhy, AdvertisementIsWritableAndBmcrResetRestoresIt) {
    PcnetRig rig;
    rig.set_bcr(33, 4);
    rig.set_bcr(34, 0x0061);  // 10 Mb/s only
    EXPECT_EQ(mdio_read(rig, 0, 4), 0x0061);
    rig.set_bcr(33, 0);
    rig.set_bcr(34, 0x8000);
    EXPECT_EQ(mdio_read(rig, 0, 4), 0x01E1);
    EXPECT_FALSE(mdio_read(rig, 0, 0) & 0x8000);  // reset self-clears
}

TEST(PcnetPhy, LinkChangedFromTheBackendReachesTheGuest) {
    PcnetRig rig;
    FrameSink& sink = rig.chip;
    sink.link_changed(false);
    EXPECT_EQ(rig.bcr(4), 0x00C0);
    sink.link_changed(true);
    EXPECT_EQ(rig.bcr(4), 0x80C0);
}

}  // namespace
}  // namespace hvmm::testing
