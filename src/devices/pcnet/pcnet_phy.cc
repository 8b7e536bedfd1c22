#include "devices/pcnet/pcnet_phy.h"

namespace hvmm::pcnet {
namespace {

constexpr uint16_t kBmsrCapabilities = 0x7800         // 100BASE-TX FD/HD, 10BASE-T FD/HD
                                       | 0x0008       // can auto-negotiate
                                       | 0x0001;      // extended registers
constexpr uint16_t kAnarDefault = 0x01E1;             // 100 FD/HD, 10 FD/HD, IEEE 802.3 selector
constexpr uint16_t kAnlparLinkUp = 0x45E1;            // partner: same abilities, acknowledge
constexpr uint16_t kBmcrWritable = 0x7FFF & ~0x0200;  // restart-AN self-clears
constexpr uint16_t kAnarWritable = 0x3FFF;

}  // namespace

void PcnetPhy::reset() {
    bmcr_ = kBmcrAutoNegotiationEnable | 0x2000 | 0x0100;  // AN on, 100 Mb/s, full duplex
    anar_ = kAnarDefault;
    link_dropped_since_read_ = false;
}

void PcnetPhy::set_link_up(bool up) {
    if (link_up_ && !up)
        link_dropped_since_read_ = true;
    link_up_ = up;
}

uint16_t PcnetPhy::read(uint8_t phy_address, uint8_t reg) {
    if (phy_address != kAddress)
        return 0xFFFF;
    switch (static_cast<PhyRegister>(reg)) {
        case PhyRegister::BMCR:
            return bmcr_;
        case PhyRegister::BMSR: {
            const bool report_up = link_up_ && !link_dropped_since_read_;
            link_dropped_since_read_ = false;
            uint16_t value = kBmsrCapabilities;
            if (report_up)
                value |= kBmsrLinkStatus | kBmsrAutoNegotiationComplete;
            return value;
        }
        case PhyRegister::PHYID1:
            return kId1;
        case PhyRegister::PHYID2:
            return kId2;
        case PhyRegister::ANAR:
            return anar_;
        case PhyRegister::ANLPAR:
            return link_up_ ? kAnlparLinkUp : 0;
        case PhyRegister::ANER:
            return link_up_ ? 0x0001 : 0;  // partner can auto-negotiate
    }
    return 0;  // other registers are not implemented and read as zero
}

void PcnetPhy::write(uint8_t phy_address, uint8_t reg, uint16_t value) {
    if (phy_address != kAddress)
        return;
    switch (static_cast<PhyRegister>(reg)) {
        case PhyRegister::BMCR:
            if (value & kBmcrReset) {
                reset();  // self-clearing: the reset completes at once
            } else {
                bmcr_ = value & kBmcrWritable;
            }
            break;
        case PhyRegister::ANAR:
            anar_ = (value & kAnarWritable) | 0x0001;
            break;
        default:
            break;  // read-only or not implemented
    }
}

}  // namespace hvmm::pcnet
