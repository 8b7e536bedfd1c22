#include "devices/virtio/net/vhost_ioctls.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

namespace hvmm::virtio {
namespace {

using namespace vhost_uapi;  // the request numbers and the structures they carry

// What a user can do about each way opening the device fails.
const char* open_hint(int error) {
    switch (error) {
        case ENOENT:
        case ENODEV:
        case ENXIO:
            return "load the vhost_net module, or use vhost=off";
        case EACCES:
        case EPERM:
            return "give hvmm read/write access to it, or use vhost=off";
        default:
            return "use vhost=off";
    }
}

// ioctl(2) as an errno: 0 on success.
template <class Arg>
int call(int fd, unsigned long request, Arg arg) {
    return ::ioctl(fd, request, arg) == 0 ? 0 : errno;
}

}  // namespace

Result<std::unique_ptr<KernelVhostIoctls>> KernelVhostIoctls::open(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd) {
        const int error = errno;
        return fail("cannot open {}: {} ({})", path, std::strerror(error), open_hint(error));
    }
    return std::unique_ptr<KernelVhostIoctls>(new KernelVhostIoctls(std::move(fd)));
}

int KernelVhostIoctls::set_owner() {
    return ::ioctl(fd_.get(), kVhostSetOwner) == 0 ? 0 : errno;
}

int KernelVhostIoctls::get_features(uint64_t& features) {
    return call(fd_.get(), kVhostGetFeatures, &features);
}

int KernelVhostIoctls::set_features(uint64_t features) {
    return call(fd_.get(), kVhostSetFeatures, &features);
}

int KernelVhostIoctls::set_mem_table(std::span<const vhost_memory_region> regions) {
    // struct vhost_memory ends in a flexible array: one buffer holds the header and the regions,
    // in uint64_t units so the regions' 64-bit fields are aligned.
    const size_t bytes = sizeof(vhost_memory) + regions.size_bytes();
    std::vector<uint64_t> buffer((bytes + sizeof(uint64_t) - 1) / sizeof(uint64_t), 0);
    auto* table = reinterpret_cast<vhost_memory*>(buffer.data());
    table->nregions = static_cast<uint32_t>(regions.size());
    table->padding = 0;
    // In bounds: the buffer was sized for the header plus regions.size() entries.
    std::memcpy(table->regions, regions.data(), regions.size_bytes());
    return call(fd_.get(), kVhostSetMemTable, table);
}

int KernelVhostIoctls::set_vring_num(unsigned index, unsigned size) {
    vhost_vring_state state{.index = index, .num = size};
    return call(fd_.get(), kVhostSetVringNum, &state);
}

int KernelVhostIoctls::set_vring_base(unsigned index, unsigned next_avail) {
    vhost_vring_state state{.index = index, .num = next_avail};
    return call(fd_.get(), kVhostSetVringBase, &state);
}

int KernelVhostIoctls::get_vring_base(unsigned index, unsigned& next_avail) {
    vhost_vring_state state{.index = index, .num = 0};
    const int error = call(fd_.get(), kVhostGetVringBase, &state);
    if (error == 0) {
        next_avail = state.num;
    }
    return error;
}

int KernelVhostIoctls::set_vring_addr(const vhost_vring_addr& addr) {
    return call(fd_.get(), kVhostSetVringAddr, &addr);
}

int KernelVhostIoctls::set_vring_kick(unsigned index, int fd) {
    vhost_vring_file file{.index = index, .fd = fd};
    return call(fd_.get(), kVhostSetVringKick, &file);
}

int KernelVhostIoctls::set_vring_call(unsigned index, int fd) {
    vhost_vring_file file{.index = index, .fd = fd};
    return call(fd_.get(), kVhostSetVringCall, &file);
}

int KernelVhostIoctls::set_vring_err(unsigned index, int fd) {
    vhost_vring_file file{.index = index, .fd = fd};
    return call(fd_.get(), kVhostSetVringErr, &file);
}

int KernelVhostIoctls::set_vring_busyloop_timeout(unsigned index, unsigned usecs) {
    vhost_vring_state state{.index = index, .num = usecs};
    return call(fd_.get(), kVhostSetVringBusyloopTimeout, &state);
}

int KernelVhostIoctls::net_set_backend(unsigned index, int fd) {
    vhost_vring_file file{.index = index, .fd = fd};
    return call(fd_.get(), kVhostNetSetBackend, &file);
}

int KernelVhostIoctls::tap_vnet_header_size(int tap_fd, int& size) {
    return read_tap_vnet_header_size(tap_fd, size);
}

int read_tap_vnet_header_size(int tap_fd, int& size) {
    ifreq request{};
    if (::ioctl(tap_fd, TUNGETIFF, &request) != 0) {
        return errno;
    }
    if ((request.ifr_flags & IFF_VNET_HDR) == 0) {
        size = 0;
        return 0;
    }
    return call(tap_fd, TUNGETVNETHDRSZ, &size);
}

int KernelVhostIoctls::signal_eventfd(int fd) {
    const uint64_t one = 1;
    // EAGAIN means the counter is at its maximum: the fd is signalled already, which is the aim.
    if (::write(fd, &one, sizeof(one)) == sizeof(one) || errno == EAGAIN) {
        return 0;
    }
    return errno;
}

}  // namespace hvmm::virtio
