// The per-packet virtio-net header and the offloads it carries, mapped between what the guest
// acknowledged (feature bits) and what a backend with a vnet header (a TAP with IFF_VNET_HDR)
// does. Pure functions over copies: the device copies a header out of guest memory (or out of
// the backend's frame) once, and only the copy is checked and used. Any thread.
//
// Why a check in both directions:
// - transmit: a guest may set NEEDS_CSUM or a GSO type it never negotiated, or checksum offsets
//   past the frame; such a header must not reach the host kernel (which would refuse the frame
//   or, worse, act on it), so the frame is dropped and counted.
// - receive: the spec forbids offering the driver an offload it did not accept ("If
//   VIRTIO_NET_F_GUEST_CSUM is not negotiated, the device MUST set flags to zero"); TUNSETOFFLOAD
//   already keeps the TAP from producing those, and this is the check that it did.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/expected.h"
#include "devices/virtio/net/virtio_net_spec.h"
#include "net/net_offloads.h"

namespace hvmm::virtio {

// The offload features to offer over a backend whose frames carry a vnet header of
// vnet_header_size bytes: all of net_spec::kOffloadFeatures for a 12-byte header; without one
// only CSUM, because the device completes a partial checksum itself (complete_checksum).
uint64_t offered_offload_features(size_t vnet_header_size);

// Completes a partial checksum in a frame (NEEDS_CSUM: the driver left the pseudo-header sum
// in the field at csum_start + csum_offset and the device sums from csum_start to the end, as
// "Packet Transmission" describes). The offsets were checked against the frame's length by
// check_tx_header.
void complete_checksum(std::span<uint8_t> frame, uint16_t csum_start, uint16_t csum_offset);

// What the backend may hand us for the guest, from the GUEST_* features the driver accepted.
net::NetOffloads receive_offloads(uint64_t acked_features);

// The feature the spec's "Feature bit requirements" say is missing from features, or empty
// when the set is consistent (GUEST_TSO4 needs GUEST_CSUM, CTRL_RX needs CTRL_VQ, ...).
std::string_view missing_feature_dependency(uint64_t features);

enum class TxHeaderError : uint8_t {
    kChecksumNotNegotiated,  // NEEDS_CSUM without VIRTIO_NET_F_CSUM
    kChecksumOutOfFrame,     // csum_start + csum_offset + 2 past the frame's end
    kGsoNotNegotiated,       // a GSO type (or ECN) whose HOST_* feature was not accepted
    kGsoMalformed,           // GSO without NEEDS_CSUM, or with gso_size 0
};
std::string_view describe(TxHeaderError error);

// The header to pass to a vnet-header backend for a frame of frame_length bytes (after the
// header), or why the frame must be dropped. Flags other than NEEDS_CSUM and num_buffers are
// cleared (they mean nothing on transmit).
std::expected<net_spec::NetHeader, TxHeaderError> check_tx_header(net_spec::NetHeader header,
                                                                  uint64_t acked_features,
                                                                  size_t frame_length);

// The header for the guest from a backend's header, or nothing when the backend produced an
// offload the driver did not accept (the frame is dropped and counted). num_buffers is left 0
// for the receive path to fill in.
std::expected<net_spec::NetHeader, TxHeaderError> check_rx_header(net_spec::NetHeader header,
                                                                  uint64_t acked_features);

}  // namespace hvmm::virtio
