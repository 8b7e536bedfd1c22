// Which received frames the guest sees: virtio-net's receive modes and MAC filter tables
// ("Packet Receive Filtering"), set through the control queue. Until the driver negotiates
// VIRTIO_NET_F_CTRL_RX it cannot choose, so the device passes everything (promiscuous), as a
// driver without a filter expects; Linux turns promiscuous off when it opens the interface.
//
// Tables hold up to kMaxTableEntries addresses each; a longer table sets that kind to "pass
// all", the silent switch to all-multicast (or all-unicast) the spec allows a device "given too
// many addresses". Plain data; the device's lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "net/mac_address.h"

namespace hvmm::virtio {

class RxFilter {
  public:
    static constexpr size_t kMaxTableEntries = 64;

    // Back to the power-on state: promiscuous, everything else off, tables empty.
    void reset();

    void set_promiscuous(bool on) { promiscuous_ = on; }
    void set_all_multicast(bool on) { all_multicast_ = on; }
    void set_all_unicast(bool on) { all_unicast_ = on; }
    void set_no_multicast(bool on) { no_multicast_ = on; }
    void set_no_unicast(bool on) { no_unicast_ = on; }
    void set_no_broadcast(bool on) { no_broadcast_ = on; }
    // VIRTIO_NET_CTRL_MAC_TABLE_SET's two tables (already bounds-checked by the caller).
    void set_tables(std::span<const MacAddress> unicast, std::span<const MacAddress> multicast);

    // Whether a frame with this destination, for a NIC whose address is own, reaches the guest.
    bool accepts(const MacAddress& destination, const MacAddress& own) const;

    bool promiscuous() const { return promiscuous_; }
    bool all_multicast() const { return all_multicast_; }
    size_t unicast_entries() const { return unicast_.size(); }
    size_t multicast_entries() const { return multicast_.size(); }
    bool unicast_overflow() const { return unicast_overflow_; }
    bool multicast_overflow() const { return multicast_overflow_; }

  private:
    bool promiscuous_ = true;
    bool all_multicast_ = false;
    bool all_unicast_ = false;
    bool no_multicast_ = false;
    bool no_unicast_ = false;
    bool no_broadcast_ = false;
    bool unicast_overflow_ = false;
    bool multicast_overflow_ = false;
    std::vector<MacAddress> unicast_;
    std::vector<MacAddress> multicast_;
};

}  // namespace hvmm::virtio
