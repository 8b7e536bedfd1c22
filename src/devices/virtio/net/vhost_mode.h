// `vhost=` of --nic virtio: where a virtio-net NIC's data path runs (vhost_net.h opens it).
#pragma once

#include <cstdint>

namespace hvmm::virtio {

enum class VhostMode : uint8_t { kOff, kAuto, kOn };

}  // namespace hvmm::virtio
