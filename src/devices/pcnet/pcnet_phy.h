// The PHY the chip reaches over its MII management interface (BCR33 selects PHY and register,
// BCR34 carries the data): the standard IEEE 802.3 clause 22 registers of a 10/100 PHY whose
// link the VMM sets from outside.
#pragma once

#include <cstdint>

namespace hvmm::pcnet {

enum class PhyRegister : uint8_t {
    BMCR = 0,    // basic mode control
    BMSR = 1,    // basic mode status
    PHYID1 = 2,  // PHY identifier, OUI high bits
    PHYID2 = 3,  // PHY identifier, OUI low bits, model, revision
    ANAR = 4,    // auto-negotiation advertisement
    ANLPAR = 5,  // auto-negotiation link partner ability
    ANER = 6,    // auto-negotiation expansion
};

class PcnetPhy {
  public:
    // The one PHY address that answers; others read as all ones, like an empty MII bus.
    static constexpr uint8_t kAddress = 0;
    static constexpr uint16_t kBmcrReset = 1u << 15;
    static constexpr uint16_t kBmcrAutoNegotiationEnable = 1u << 12;
    static constexpr uint16_t kBmsrLinkStatus = 1u << 2;
    static constexpr uint16_t kBmsrAutoNegotiationComplete = 1u << 5;
    static constexpr uint16_t kId1 = 0x0022;  // AMD's OUI, as on AMD's own 10/100 PHYs
    static constexpr uint16_t kId2 = 0x561B;

    explicit PcnetPhy(bool link_up = true) : link_up_(link_up) { reset(); }

    void reset();
    void set_link_up(bool up);
    bool link_up() const { return link_up_; }

    uint16_t read(uint8_t phy_address, uint8_t reg);
    void write(uint8_t phy_address, uint8_t reg, uint16_t value);

  private:
    uint16_t bmcr_ = 0;
    uint16_t anar_ = 0;
    bool link_up_ = true;
    // BMSR's link status latches low: a link that dropped reads down once even if it is back.
    bool link_dropped_since_read_ = false;
};

}  // namespace hvmm::pcnet
