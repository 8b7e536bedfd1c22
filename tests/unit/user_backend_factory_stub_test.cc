// Until the NAT backend is merged, net=user parses but cannot open, and says why in one line.
// Delete with src/net/user_backend_factory_stub.cc.
#include <gtest/gtest.h>

#include "vmm/nic_spec.h"

namespace hvmm {
namespace {

TEST(UserBackendFactoryStub, NetUserSaysTheNatBackendIsNotBuiltYet) {
    auto spec = parse_nic_spec("pcnet", 0);
    ASSERT_TRUE(spec) << spec.error().message;
    auto backend = open_backend(*spec);
    ASSERT_FALSE(backend);
    EXPECT_EQ(backend.error().message, "--nic: net=user needs the NAT backend, not built yet");
}

}  // namespace
}  // namespace hvmm
