// The kernel's vhost ABI (<linux/vhost.h>, <linux/vhost_types.h>): the structures and request
// numbers hvmm uses, declared here because those headers pull in <linux/virtio_ring.h>, which does
// not compile as C++. Layouts and numbers are fixed by the ABI. In base/ because both the vhost-net
// data path (devices/virtio/net) and the sandbox's allowlists (sandbox/) name them.
#pragma once

#include <sys/ioctl.h>

#include <cstdint>

namespace hvmm::vhost_uapi {

struct vhost_memory_region {
    uint64_t guest_phys_addr;
    uint64_t memory_size;  // bytes
    uint64_t userspace_addr;
    uint64_t flags_padding;  // no flags are defined: 0
};
struct vhost_vring_addr {
    unsigned index;
    unsigned flags;  // bit 0 (VHOST_VRING_F_LOG) would enable dirty logging: hvmm leaves it 0
    uint64_t desc_user_addr;
    uint64_t used_user_addr;
    uint64_t avail_user_addr;
    uint64_t log_guest_addr;
};
static_assert(sizeof(vhost_memory_region) == 32);
static_assert(sizeof(vhost_vring_addr) == 40);

// <linux/vhost_types.h> structures only the ioctls themselves use.
struct vhost_vring_state {
    unsigned index;
    unsigned num;
};
struct vhost_vring_file {
    unsigned index;
    int fd;  // -1 unbinds
};
struct vhost_memory {
    uint32_t nregions;
    uint32_t padding;
    vhost_memory_region regions[];
};
static_assert(sizeof(vhost_vring_state) == 8 && sizeof(vhost_vring_file) == 8);
static_assert(sizeof(vhost_memory) == 8);

// The request numbers of <linux/vhost.h> (which cannot be included from C++, see above),
// built the same way; the values match the kernel's (VHOST_GET_FEATURES = 0x8008af00,
// VHOST_SET_VRING_ADDR = 0x4028af11, VHOST_GET_VRING_BASE = 0xc008af12, checked with the C
// header when this was written).
constexpr unsigned kVhostVirtio = 0xAF;
constexpr unsigned long kVhostGetFeatures = _IOR(kVhostVirtio, 0x00, uint64_t);
constexpr unsigned long kVhostSetFeatures = _IOW(kVhostVirtio, 0x00, uint64_t);
constexpr unsigned long kVhostSetOwner = _IO(kVhostVirtio, 0x01);
constexpr unsigned long kVhostSetMemTable = _IOW(kVhostVirtio, 0x03, vhost_memory);
constexpr unsigned long kVhostSetVringNum = _IOW(kVhostVirtio, 0x10, vhost_vring_state);
constexpr unsigned long kVhostSetVringAddr = _IOW(kVhostVirtio, 0x11, vhost_vring_addr);
constexpr unsigned long kVhostSetVringBase = _IOW(kVhostVirtio, 0x12, vhost_vring_state);
constexpr unsigned long kVhostGetVringBase = _IOWR(kVhostVirtio, 0x12, vhost_vring_state);
constexpr unsigned long kVhostSetVringKick = _IOW(kVhostVirtio, 0x20, vhost_vring_file);
constexpr unsigned long kVhostSetVringCall = _IOW(kVhostVirtio, 0x21, vhost_vring_file);
constexpr unsigned long kVhostSetVringErr = _IOW(kVhostVirtio, 0x22, vhost_vring_file);
// num: microseconds the worker busy-polls a ring (and the TAP) before sleeping; 0 turns it off.
constexpr unsigned long kVhostSetVringBusyloopTimeout = _IOW(kVhostVirtio, 0x23, vhost_vring_state);
constexpr unsigned long kVhostNetSetBackend = _IOW(kVhostVirtio, 0x30, vhost_vring_file);
static_assert(kVhostGetFeatures == 0x8008af00 && kVhostSetVringAddr == 0x4028af11 &&
              kVhostGetVringBase == 0xc008af12 && kVhostSetMemTable == 0x4008af03 &&
              kVhostNetSetBackend == 0x4008af30 && kVhostSetVringBusyloopTimeout == 0x4008af23);

}  // namespace hvmm::vhost_uapi
