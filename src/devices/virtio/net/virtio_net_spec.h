// virtio-net as VIRTIO 1.2 defines it ("Network Device"): feature bits, the configuration
// layout, the per-packet header and the control queue's commands. Constants and plain data
// only; any thread.
#pragma once

#include <cstdint>

namespace hvmm::virtio::net_spec {

inline constexpr uint16_t kDeviceType = 1;              // "Device Types": network card
inline constexpr uint32_t kPciClassNetwork = 0x020000;  // Ethernet controller

// Queue indices with one queue pair ("Virtqueues": receiveq1, transmitq1, controlq).
inline constexpr uint16_t kRxQueue = 0;
inline constexpr uint16_t kTxQueue = 1;
inline constexpr uint16_t kCtrlQueue = 2;
inline constexpr uint16_t kQueueCount = 3;

// "Feature bits" (only those hvmm offers or checks dependencies of).
inline constexpr uint64_t bit(unsigned n) {
    return uint64_t{1} << n;
}
inline constexpr uint64_t kCsum = bit(0);            // VIRTIO_NET_F_CSUM: we take partial csums
inline constexpr uint64_t kGuestCsum = bit(1);       // VIRTIO_NET_F_GUEST_CSUM
inline constexpr uint64_t kMtu = bit(3);             // VIRTIO_NET_F_MTU: config.mtu is valid
inline constexpr uint64_t kMac = bit(5);             // VIRTIO_NET_F_MAC: config.mac is valid
inline constexpr uint64_t kGuestTso4 = bit(7);       // VIRTIO_NET_F_GUEST_TSO4
inline constexpr uint64_t kGuestTso6 = bit(8);       // VIRTIO_NET_F_GUEST_TSO6
inline constexpr uint64_t kGuestEcn = bit(9);        // VIRTIO_NET_F_GUEST_ECN
inline constexpr uint64_t kGuestUfo = bit(10);       // VIRTIO_NET_F_GUEST_UFO (never offered)
inline constexpr uint64_t kHostTso4 = bit(11);       // VIRTIO_NET_F_HOST_TSO4
inline constexpr uint64_t kHostTso6 = bit(12);       // VIRTIO_NET_F_HOST_TSO6
inline constexpr uint64_t kHostEcn = bit(13);        // VIRTIO_NET_F_HOST_ECN
inline constexpr uint64_t kHostUfo = bit(14);        // VIRTIO_NET_F_HOST_UFO (never offered)
inline constexpr uint64_t kMrgRxbuf = bit(15);       // VIRTIO_NET_F_MRG_RXBUF
inline constexpr uint64_t kStatus = bit(16);         // VIRTIO_NET_F_STATUS: config.status valid
inline constexpr uint64_t kCtrlVq = bit(17);         // VIRTIO_NET_F_CTRL_VQ
inline constexpr uint64_t kCtrlRx = bit(18);         // VIRTIO_NET_F_CTRL_RX
inline constexpr uint64_t kCtrlVlan = bit(19);       // VIRTIO_NET_F_CTRL_VLAN (never offered)
inline constexpr uint64_t kCtrlRxExtra = bit(20);    // VIRTIO_NET_F_CTRL_RX_EXTRA
inline constexpr uint64_t kGuestAnnounce = bit(21);  // (never offered)
inline constexpr uint64_t kMq = bit(22);             // (never offered)
inline constexpr uint64_t kCtrlMacAddr = bit(23);    // VIRTIO_NET_F_CTRL_MAC_ADDR
inline constexpr uint64_t kNotfCoal = bit(53);       // VIRTIO_NET_F_NOTF_COAL (VIRTIO 1.3)

// The offload features, offered only over a backend that carries a vnet header.
inline constexpr uint64_t kOffloadFeatures =
    kCsum | kGuestCsum | kGuestTso4 | kGuestTso6 | kGuestEcn | kHostTso4 | kHostTso6 | kHostEcn;

// "Device configuration layout": struct virtio_net_config, little-endian.
inline constexpr uint32_t kConfigMacOffset = 0;       // u8 mac[6]
inline constexpr uint32_t kConfigStatusOffset = 6;    // le16 status
inline constexpr uint32_t kConfigMaxPairsOffset = 8;  // le16 max_virtqueue_pairs
inline constexpr uint32_t kConfigMtuOffset = 10;      // le16 mtu
inline constexpr uint32_t kConfigSize = 12;           // through mtu: nothing later is offered
inline constexpr uint16_t kStatusLinkUp = 1;          // VIRTIO_NET_S_LINK_UP

// "Packet Transmission/Reception": struct virtio_net_hdr (with VERSION_1 always 12 bytes).
struct NetHeader {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
};
static_assert(sizeof(NetHeader) == 12);

inline constexpr uint8_t kHeaderNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr uint8_t kHeaderDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
inline constexpr uint8_t kHeaderRscInfo = 4;    // VIRTIO_NET_HDR_F_RSC_INFO (never ours)
inline constexpr uint8_t kGsoNone = 0;          // VIRTIO_NET_HDR_GSO_NONE
inline constexpr uint8_t kGsoTcpv4 = 1;         // VIRTIO_NET_HDR_GSO_TCPV4
inline constexpr uint8_t kGsoUdp = 3;           // VIRTIO_NET_HDR_GSO_UDP
inline constexpr uint8_t kGsoTcpv6 = 4;         // VIRTIO_NET_HDR_GSO_TCPV6
inline constexpr uint8_t kGsoEcn = 0x80;        // VIRTIO_NET_HDR_GSO_ECN

// "Control Virtqueue": class, command, data, then a device-writable ack byte.
inline constexpr uint8_t kCtrlOk = 0;       // VIRTIO_NET_OK
inline constexpr uint8_t kCtrlErr = 1;      // VIRTIO_NET_ERR
inline constexpr uint8_t kCtrlClassRx = 0;  // VIRTIO_NET_CTRL_RX
inline constexpr uint8_t kCtrlRxPromisc = 0;
inline constexpr uint8_t kCtrlRxAllmulti = 1;
inline constexpr uint8_t kCtrlRxAlluni = 2;  // the four below need CTRL_RX_EXTRA
inline constexpr uint8_t kCtrlRxNomulti = 3;
inline constexpr uint8_t kCtrlRxNouni = 4;
inline constexpr uint8_t kCtrlRxNobcast = 5;
inline constexpr uint8_t kCtrlClassMac = 1;  // VIRTIO_NET_CTRL_MAC
inline constexpr uint8_t kCtrlMacTableSet = 0;
inline constexpr uint8_t kCtrlMacAddrSet = 1;
// "Notifications Coalescing" (VIRTIO 1.3): struct virtio_net_ctrl_coal { le32 max_packets;
// le32 max_usecs; } for the transmit queues (TX_SET) or the receive queues (RX_SET).
inline constexpr uint8_t kCtrlClassNotfCoal = 6;  // VIRTIO_NET_CTRL_NOTF_COAL
inline constexpr uint8_t kCtrlNotfCoalTxSet = 0;
inline constexpr uint8_t kCtrlNotfCoalRxSet = 1;
struct CtrlCoalescing {
    uint32_t max_packets;
    uint32_t max_usecs;
};
static_assert(sizeof(CtrlCoalescing) == 8);

}  // namespace hvmm::virtio::net_spec
