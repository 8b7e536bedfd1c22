// VirtioNet's control queue ("Control Virtqueue"): receive modes, MAC filtering and
// notifications coalescing. Each
// command is class, command and its data in device-readable bytes, then one device-writable
// ack byte the device sets to VIRTIO_NET_OK or VIRTIO_NET_ERR.
#include <algorithm>

#include "base/log.h"
#include "devices/virtio/net/virtio_net.h"
#include "net/mac_address.h"

namespace hvmm::virtio {

using namespace net_spec;

void VirtioNet::service_ctrl_locked() {
    SplitQueue& ctrl = *queue(kCtrlQueue);
    ctrl.disable_notifications();
    do {
        while (auto popped = ctrl.pop()) {
            if (!*popped) {
                ++counters_.ctrl_malformed_chains;
                ctrl.add_used(popped->error());
                continue;
            }
            const DescriptorChain& chain = **popped;
            ChainReader reader = chain.reader();
            ChainWriter writer = chain.writer();
            struct {
                uint8_t command_class;
                uint8_t command;
            } head{};
            uint8_t ack = kCtrlErr;
            if (auto read = reader.read_obj<decltype(head)>()) {
                head = *read;
                ack = handle_ctrl_locked(head.command_class, head.command, reader);
            }
            if (ack == kCtrlOk) {
                ++counters_.ctrl_commands;
            } else {
                ++counters_.ctrl_errors;
            }
            // The ack is the last field: a chain with no writable byte cannot be answered.
            if (!writer.write_obj(ack)) {
                ++counters_.ctrl_malformed_chains;
            }
            ctrl.add_used(chain.head(), writer.bytes_written());
        }
    } while (ctrl.enable_notifications());
    uint64_t unused = 0;  // control notifications are not worth a counter of their own
    notify_locked(kCtrlQueue, unused);
}

uint8_t VirtioNet::handle_ctrl_locked(uint8_t command_class, uint8_t command, ChainReader& data) {
    if (command_class == kCtrlClassRx && negotiated(kCtrlRx)) {
        const auto on = data.read_obj<uint8_t>();
        const bool extra = negotiated(kCtrlRxExtra);
        if (!on) {
            return kCtrlErr;
        }
        switch (command) {
            case kCtrlRxPromisc:
                filter_.set_promiscuous(*on != 0);
                return kCtrlOk;
            case kCtrlRxAllmulti:
                filter_.set_all_multicast(*on != 0);
                return kCtrlOk;
            case kCtrlRxAlluni:
                if (!extra)
                    break;
                filter_.set_all_unicast(*on != 0);
                return kCtrlOk;
            case kCtrlRxNomulti:
                if (!extra)
                    break;
                filter_.set_no_multicast(*on != 0);
                return kCtrlOk;
            case kCtrlRxNouni:
                if (!extra)
                    break;
                filter_.set_no_unicast(*on != 0);
                return kCtrlOk;
            case kCtrlRxNobcast:
                if (!extra)
                    break;
                filter_.set_no_broadcast(*on != 0);
                return kCtrlOk;
        }
    } else if (command_class == kCtrlClassMac && command == kCtrlMacTableSet &&
               negotiated(kCtrlRx)) {
        return handle_ctrl_mac_table_locked(data);
    } else if (command_class == kCtrlClassNotfCoal && negotiated(kNotfCoal)) {
        return handle_ctrl_coalescing_locked(command, data);
    } else if (command_class == kCtrlClassMac && command == kCtrlMacAddrSet &&
               negotiated(kCtrlMacAddr)) {
        MacAddress mac{};
        if (!data.read_exact(mac.bytes) || !net::is_unicast_station(mac)) {
            return kCtrlErr;
        }
        mac_ = mac;
        return kCtrlOk;
    }
    static log::RateLimitedWarning warning;
    if (log::level() >= log::Level::kWarn) {  // counted either way
        warning("virtio-net: control command class {} command {} not supported", command_class,
                command);
    }
    return kCtrlErr;
}

uint8_t VirtioNet::handle_ctrl_coalescing_locked(uint8_t command, ChainReader& data) {
    uint16_t index = 0;
    if (command == kCtrlNotfCoalTxSet) {
        index = kTxQueue;
    } else if (command == kCtrlNotfCoalRxSet) {
        index = kRxQueue;
    } else {
        return kCtrlErr;  // VQ_SET / VQ_GET need VIRTIO_NET_F_VQ_NOTF_COAL, never offered
    }
    const auto set = data.read_obj<CtrlCoalescing>();
    if (!set) {
        return kCtrlErr;
    }
    const NotificationCoalescer::Limits limits{.max_packets = set->max_packets,
                                               .usecs = set->max_usecs};
    if (!NotificationCoalescer::acceptable(limits)) {
        return kCtrlErr;  // "SHOULD respond ... with VIRTIO_NET_ERR if it was not able to"
    }
    // What the old limits held goes now, under the driver's own suppression.
    const bool held = coalescers_[index].timer_armed();
    coalescers_[index].set_limits(limits);
    frames_seen_[index] = frames_used_locked(index);
    if (held) {
        stop_coalescing_timer_locked(index);
        release_held_notification_locked(index);
    }
    return kCtrlOk;
}

uint8_t VirtioNet::handle_ctrl_mac_table_locked(ChainReader& data) {
    // Two struct virtio_net_ctrl_mac { le32 entries; u8 macs[entries][6]; }, unicast first.
    // entries is the guest's word: it is checked against the bytes actually there before any
    // is read, and at most one more than the table holds is kept (the rest only says
    // "overflow").
    std::array<std::vector<MacAddress>, 2> tables;
    for (auto& table : tables) {
        const auto entries = data.read_obj<uint32_t>();
        if (!entries || uint64_t{*entries} * 6 > data.remaining()) {
            return kCtrlErr;
        }
        const size_t kept = std::min<size_t>(*entries, RxFilter::kMaxTableEntries + 1);
        table.resize(kept);
        for (MacAddress& mac : table) {
            data.read_exact(mac.bytes);  // in bounds: checked against remaining() above
        }
        data.advance(size_t{*entries - kept} * 6);
    }
    filter_.set_tables(tables[0], tables[1]);
    return kCtrlOk;
}

}  // namespace hvmm::virtio
