// The seam between --nic net=user and the NAT backend (libslirp, src/net/slirp/): open_backend
// calls this, and the NAT backend defines it. Until that backend is merged,
// user_backend_factory_stub.cc defines it as an error; delete the stub when merging it.
#pragma once

#include <memory>

#include "base/error.h"
#include "devices/pcnet/mac_address.h"
#include "net/net_backend.h"
#include "net/user_net_config.h"

namespace hvmm {

// A user-mode NAT network with the given options, for a guest whose NIC has guest_mac.
Result<std::unique_ptr<NetBackend>> open_user_backend(const net::UserNetConfig& config,
                                                      const MacAddress& guest_mac);

}  // namespace hvmm
