#include "devices/virtio/net/vnet_header.h"

namespace hvmm::virtio {

using namespace net_spec;

uint64_t offered_offload_features(size_t vnet_header_size) {
    return vnet_header_size == hvmm::net::kVnetHeaderSize ? kOffloadFeatures : kCsum;
}

void complete_checksum(std::span<uint8_t> frame, uint16_t csum_start, uint16_t csum_offset) {
    // The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of
    // big-endian 16-bit words, an odd last byte padded with zero.
    uint64_t sum = 0;
    const std::span<const uint8_t> covered = frame.subspan(csum_start);
    size_t i = 0;
    for (; i + 1 < covered.size(); i += 2) {
        sum += static_cast<uint32_t>(covered[i] << 8 | covered[i + 1]);
    }
    if (i < covered.size()) {
        sum += static_cast<uint32_t>(covered[i] << 8);
    }
    while (sum >> 16) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    const auto checksum = static_cast<uint16_t>(~sum);
    // In bounds: csum_start + csum_offset + 2 <= frame.size() (check_tx_header).
    frame[size_t{csum_start} + csum_offset] = static_cast<uint8_t>(checksum >> 8);
    frame[size_t{csum_start} + csum_offset + 1] = static_cast<uint8_t>(checksum);
}

hvmm::net::NetOffloads receive_offloads(uint64_t acked) {
    hvmm::net::NetOffloads offloads;
    offloads.checksum = (acked & kGuestCsum) != 0;
    offloads.tso4 = offloads.checksum && (acked & kGuestTso4) != 0;
    offloads.tso6 = offloads.checksum && (acked & kGuestTso6) != 0;
    offloads.tso_ecn = (offloads.tso4 || offloads.tso6) && (acked & kGuestEcn) != 0;
    return offloads;
}

std::string_view missing_feature_dependency(uint64_t features) {
    struct Requirement {
        uint64_t feature;
        uint64_t needs_any;  // at least one of these
        std::string_view missing;
    };
    // "Feature bit requirements" (VIRTIO 1.2, 5.1.3.1).
    static constexpr Requirement kRequirements[] = {
        {kGuestTso4, kGuestCsum, "GUEST_TSO4 without GUEST_CSUM"},
        {kGuestTso6, kGuestCsum, "GUEST_TSO6 without GUEST_CSUM"},
        {kGuestEcn, kGuestTso4 | kGuestTso6, "GUEST_ECN without GUEST_TSO4 or GUEST_TSO6"},
        {kGuestUfo, kGuestCsum, "GUEST_UFO without GUEST_CSUM"},
        {kHostTso4, kCsum, "HOST_TSO4 without CSUM"},
        {kHostTso6, kCsum, "HOST_TSO6 without CSUM"},
        {kHostEcn, kHostTso4 | kHostTso6, "HOST_ECN without HOST_TSO4 or HOST_TSO6"},
        {kHostUfo, kCsum, "HOST_UFO without CSUM"},
        {kCtrlRx, kCtrlVq, "CTRL_RX without CTRL_VQ"},
        {kCtrlVlan, kCtrlVq, "CTRL_VLAN without CTRL_VQ"},
        {kGuestAnnounce, kCtrlVq, "GUEST_ANNOUNCE without CTRL_VQ"},
        {kMq, kCtrlVq, "MQ without CTRL_VQ"},
        {kCtrlMacAddr, kCtrlVq, "CTRL_MAC_ADDR without CTRL_VQ"},
        {kCtrlRxExtra, kCtrlRx, "CTRL_RX_EXTRA without CTRL_RX"},
        {kNotfCoal, kCtrlVq, "NOTF_COAL without CTRL_VQ"},
    };
    for (const Requirement& requirement : kRequirements) {
        if ((features & requirement.feature) != 0 && (features & requirement.needs_any) == 0) {
            return requirement.missing;
        }
    }
    return {};
}

std::string_view describe(TxHeaderError error) {
    switch (error) {
        case TxHeaderError::kChecksumNotNegotiated:
            return "partial checksum without the checksum feature";
        case TxHeaderError::kChecksumOutOfFrame:
            return "checksum offsets past the end of the frame";
        case TxHeaderError::kGsoNotNegotiated:
            return "segmentation type not negotiated";
        case TxHeaderError::kGsoMalformed:
            return "segmentation without a partial checksum or a segment size";
    }
    return "unknown header error";
}

namespace {

// The GSO part of a header (shared by both directions: only the feature bits differ).
std::expected<void, TxHeaderError> check_gso(const NetHeader& header, bool tso4, bool tso6,
                                             bool ecn) {
    const uint8_t type = header.gso_type & ~kGsoEcn;
    if (type == kGsoNone) {
        if ((header.gso_type & kGsoEcn) != 0) {
            return std::unexpected(TxHeaderError::kGsoMalformed);
        }
        return {};
    }
    if ((type == kGsoTcpv4 && !tso4) || (type == kGsoTcpv6 && !tso6) ||
        (type != kGsoTcpv4 && type != kGsoTcpv6) || ((header.gso_type & kGsoEcn) != 0 && !ecn)) {
        return std::unexpected(TxHeaderError::kGsoNotNegotiated);
    }
    if ((header.flags & kHeaderNeedsCsum) == 0 || header.gso_size == 0) {
        return std::unexpected(TxHeaderError::kGsoMalformed);
    }
    return {};
}

}  // namespace

std::expected<NetHeader, TxHeaderError> check_tx_header(NetHeader header, uint64_t acked,
                                                        size_t frame_length) {
    header.flags &= kHeaderNeedsCsum;
    header.num_buffers = 0;
    if ((header.flags & kHeaderNeedsCsum) != 0) {
        if ((acked & kCsum) == 0) {
            return std::unexpected(TxHeaderError::kChecksumNotNegotiated);
        }
        // The 16-bit checksum field at csum_start + csum_offset lies inside the frame.
        if (size_t{header.csum_start} + header.csum_offset + 2 > frame_length) {
            return std::unexpected(TxHeaderError::kChecksumOutOfFrame);
        }
    }
    const bool csum = (acked & kCsum) != 0;
    if (auto gso = check_gso(header, csum && (acked & kHostTso4), csum && (acked & kHostTso6),
                             (acked & kHostEcn) != 0);
        !gso) {
        return std::unexpected(gso.error());
    }
    return header;
}

std::expected<NetHeader, TxHeaderError> check_rx_header(NetHeader header, uint64_t acked) {
    header.num_buffers = 0;
    const auto offloads = receive_offloads(acked);
    if (!offloads.checksum) {
        // "If VIRTIO_NET_F_GUEST_CSUM is not negotiated, the device MUST set flags to zero":
        // DATA_VALID is only advice and can go; a partial checksum cannot be delivered.
        if ((header.flags & kHeaderNeedsCsum) != 0) {
            return std::unexpected(TxHeaderError::kChecksumNotNegotiated);
        }
        header.flags = 0;
    } else {
        header.flags &= kHeaderNeedsCsum | kHeaderDataValid;
    }
    if (auto gso = check_gso(header, offloads.tso4, offloads.tso6, offloads.tso_ecn); !gso) {
        return std::unexpected(gso.error());
    }
    return header;
}

}  // namespace hvmm::virtio
