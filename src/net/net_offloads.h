// The offloads a frame may carry when a backend speaks the virtio-net header (a TAP opened with
// IFF_VNET_HDR): a checksum left for the receiver to fill in, and TCP segmentation (TSO) with or
// without ECN. A NIC tells the backend which of them its guest accepts on receive
// (NetBackend::set_receive_offloads, TUNSETOFFLOAD for a TAP); what the guest sends is checked
// against what the NIC offered before it reaches the backend. Plain data; any thread.
#pragma once

#include <cstddef>

namespace hvmm::net {

// sizeof(struct virtio_net_hdr_v1) (VIRTIO 1.2, "Device Operation": flags, gso_type, hdr_len,
// gso_size, csum_start, csum_offset, num_buffers). A TAP is told this size explicitly, because
// a persistent TAP keeps whatever size its previous user set (the kernel default is 10).
inline constexpr size_t kVnetHeaderSize = 12;

struct NetOffloads {
    bool checksum = false;  // partial checksums (VIRTIO_NET_HDR_F_NEEDS_CSUM; TUN_F_CSUM)
    bool tso4 = false;      // TCPv4 segmentation (TUN_F_TSO4); needs checksum
    bool tso6 = false;      // TCPv6 segmentation (TUN_F_TSO6); needs checksum
    bool tso_ecn = false;   // TSO with the ECN bit (TUN_F_TSO_ECN); needs tso4 or tso6
    bool operator==(const NetOffloads&) const = default;
};

}  // namespace hvmm::net
