#include "devices/virtio/net/rx_filter.h"

#include <algorithm>

#include "net/mac_address.h"

namespace hvmm::virtio {

void RxFilter::reset() {
    *this = RxFilter{};
}

void RxFilter::set_tables(std::span<const MacAddress> unicast,
                          std::span<const MacAddress> multicast) {
    unicast_overflow_ = unicast.size() > kMaxTableEntries;
    multicast_overflow_ = multicast.size() > kMaxTableEntries;
    unicast_.assign(unicast.begin(), unicast_overflow_ ? unicast.begin() : unicast.end());
    multicast_.assign(multicast.begin(), multicast_overflow_ ? multicast.begin() : multicast.end());
}

bool RxFilter::accepts(const MacAddress& destination, const MacAddress& own) const {
    if (promiscuous_) {
        return true;
    }
    auto listed = [&destination](const std::vector<MacAddress>& table) {
        return std::find(table.begin(), table.end(), destination) != table.end();
    };
    if (net::is_broadcast(destination)) {
        return !no_broadcast_;
    }
    if (net::is_multicast(destination)) {
        if (no_multicast_) {
            return false;
        }
        return all_multicast_ || multicast_overflow_ || listed(multicast_);
    }
    if (no_unicast_) {
        return false;
    }
    return all_unicast_ || unicast_overflow_ || destination == own || listed(unicast_);
}

}  // namespace hvmm::virtio
