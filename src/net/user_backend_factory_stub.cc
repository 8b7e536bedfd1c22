// Stands in for the NAT backend until it is merged (see user_backend_factory.h); delete then.
#include "net/user_backend_factory.h"

namespace hvmm {

Result<std::unique_ptr<NetBackend>> open_user_backend(const net::UserNetConfig&,
                                                      const MacAddress&) {
    return fail("--nic: net=user needs the NAT backend, not built yet");
}

}  // namespace hvmm
