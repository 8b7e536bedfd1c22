#include "net/slirp/user_backend.h"

#include "net/slirp/slirp_backend.h"

namespace hvmm {

Result<std::unique_ptr<NetBackend>> open_user_backend(const net::UserNetConfig& config,
                                                      const MacAddress& guest_mac) {
    return HVMM_TRY(SlirpBackend::open(config, guest_mac));
}

}  // namespace hvmm
