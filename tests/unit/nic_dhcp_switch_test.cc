// Whether hvmm asks the default image for DHCP on a switch: only when the switch it joins is
// running with --dhcp (asked over the switch's control socket), never for one without a DHCP
// server or one that is not running.
#include <cstdlib>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "switch_test_fixture.h"
#include "vmm/nic_dhcp.h"
#include "vmm/nic_spec.h"

namespace hvmm {
namespace {

// Points this process's switch environment at the fixture's directories while it lives.
class ScopedEnvironment {
  public:
    ScopedEnvironment(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnvironment() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }

  private:
    const char* name_;
    std::optional<std::string> old_;
};

class SwitchDhcp : public testing::SwitchCommand {
  protected:
    std::vector<std::string> interfaces_for(const std::string& nic) {
        const auto spec = parse_nic_spec(nic, 0);
        EXPECT_TRUE(spec) << spec.error().message;
        const std::vector<NicSpec> specs{*spec};
        return dhcp_interfaces(specs);
    }
};

TEST_F(SwitchDhcp, OnlyASwitchServingDhcpGetsTheGuestToAskForALease) {
    start("served", {"--dhcp"});
    start("plain");
    ScopedEnvironment runtime("XDG_RUNTIME_DIR", root_ + "/run");
    ScopedEnvironment cache("XDG_CACHE_HOME", root_ + "/cache");
    EXPECT_EQ(interfaces_for("pcnet,net=switch:served"), std::vector<std::string>{"eth0"});
    EXPECT_TRUE(interfaces_for("pcnet,net=switch:plain").empty());
    EXPECT_TRUE(interfaces_for("pcnet,net=switch:absent").empty());
}

}  // namespace
}  // namespace hvmm
