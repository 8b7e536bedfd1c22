// The vhost-net control calls hvmm makes, one virtual function per ioctl, so VhostNet's ordering
// and arguments can be proven against a recording fake in unit tests (tests/unit/
// vhost_net_test.cc) while KernelVhostIoctls issues them on a /dev/vhost-net descriptor.
//
// Every call returns 0 or the errno the kernel gave (never -1 with errno left to be read later),
// so a caller can name the ioctl and the reason in one message. The vring index is vhost's
// (0 = receive queue, 1 = transmit queue for vhost-net), which is the virtio queue index.
//
// Threads: none of its own; the owner (one VhostNet) serialises its calls.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "base/vhost_uapi.h"

namespace hvmm::virtio {

using vhost_uapi::vhost_memory_region;
using vhost_uapi::vhost_vring_addr;

class VhostIoctls {
  public:
    virtual ~VhostIoctls() = default;

    virtual int set_owner() = 0;                       // VHOST_SET_OWNER
    virtual int get_features(uint64_t& features) = 0;  // VHOST_GET_FEATURES
    virtual int set_features(uint64_t features) = 0;   // VHOST_SET_FEATURES
    // VHOST_SET_MEM_TABLE with these regions (the implementation builds the vhost_memory
    // header and its flexible array).
    virtual int set_mem_table(std::span<const vhost_memory_region> regions) = 0;
    virtual int set_vring_num(unsigned index, unsigned size) = 0;          // VHOST_SET_VRING_NUM
    virtual int set_vring_base(unsigned index, unsigned next_avail) = 0;   // VHOST_SET_VRING_BASE
    virtual int get_vring_base(unsigned index, unsigned& next_avail) = 0;  // VHOST_GET_VRING_BASE
    virtual int set_vring_addr(const vhost_vring_addr& addr) = 0;          // VHOST_SET_VRING_ADDR
    virtual int set_vring_kick(unsigned index, int fd) = 0;   // VHOST_SET_VRING_KICK (-1 unbinds)
    virtual int set_vring_call(unsigned index, int fd) = 0;   // VHOST_SET_VRING_CALL (-1 unbinds)
    virtual int set_vring_err(unsigned index, int fd) = 0;    // VHOST_SET_VRING_ERR (-1 unbinds)
    // VHOST_SET_VRING_BUSYLOOP_TIMEOUT (0 turns the worker's busy polling off).
    virtual int set_vring_busyloop_timeout(unsigned index, unsigned usecs) = 0;
    virtual int net_set_backend(unsigned index, int fd) = 0;  // VHOST_NET_SET_BACKEND (-1 stops)

    // Not vhost ioctls, but part of the same start sequence and so behind the same seam:
    // the virtio-net header length the TAP carries (TUNGETIFF's IFF_VNET_HDR flag, then
    // TUNGETVNETHDRSZ; 0 when the TAP carries no header), checked before vhost is given it.
    virtual int tap_vnet_header_size(int tap_fd, int& size) = 0;
    // Adds 1 to an eventfd (a kick, so vhost looks at a ring it may have missed buffers on).
    virtual int signal_eventfd(int fd) = 0;
};

// What KernelVhostIoctls::tap_vnet_header_size does, usable without a vhost descriptor: 0 or
// errno, size set to the TAP's header length (0 without IFF_VNET_HDR).
int read_tap_vnet_header_size(int tap_fd, int& size);

// The real thing: ioctl(2) on an open /dev/vhost-net.
class KernelVhostIoctls final : public VhostIoctls {
  public:
    // Opens the character device (O_RDWR | O_CLOEXEC). The error says why and what to do:
    // "cannot open /dev/vhost-net: No such file or directory (load the vhost_net module, ...)".
    static Result<std::unique_ptr<KernelVhostIoctls>> open(const std::string& path);

    int set_owner() override;
    int get_features(uint64_t& features) override;
    int set_features(uint64_t features) override;
    int set_mem_table(std::span<const vhost_memory_region> regions) override;
    int set_vring_num(unsigned index, unsigned size) override;
    int set_vring_base(unsigned index, unsigned next_avail) override;
    int get_vring_base(unsigned index, unsigned& next_avail) override;
    int set_vring_addr(const vhost_vring_addr& addr) override;
    int set_vring_kick(unsigned index, int fd) override;
    int set_vring_call(unsigned index, int fd) override;
    int set_vring_err(unsigned index, int fd) override;
    int set_vring_busyloop_timeout(unsigned index, unsigned usecs) override;
    int net_set_backend(unsigned index, int fd) override;
    int tap_vnet_header_size(int tap_fd, int& size) override;
    int signal_eventfd(int fd) override;

  private:
    explicit KernelVhostIoctls(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

}  // namespace hvmm::virtio
