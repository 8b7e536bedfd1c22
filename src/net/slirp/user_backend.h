// The factory for `--nic ...,net=user[,options]`: the NAT backend (net/slirp/slirp_backend.h)
// for one NIC, as a NetBackend. The options come parsed and checked (net/user_net_config.h).
#pragma once

#include <memory>

#include "base/error.h"
#include "net/mac_address.h"
#include "net/net_backend.h"
#include "net/user_net_config.h"

namespace hvmm {

Result<std::unique_ptr<NetBackend>> open_user_backend(const net::UserNetConfig& config,
                                                      const MacAddress& guest_mac);

}  // namespace hvmm
