// What the TAP tests (tap_backend_test.cc, tap_vnet_header_test.cc) share: interface names of
// their own, ifreq set-up, and a fixture that makes the prerequisites (root, /dev/net/tun) fail
// loudly rather than pass, with an AF_PACKET socket to see and inject frames on an interface.
#pragma once

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hvmm::testing {

// A name no other test process uses: PREFIX, this process's id and a counter (IFNAMSIZ fits it).
inline std::string unique_tap_name(const char* prefix) {
    static int counter = 0;
    return fmt::format("{}{}x{}", prefix, ::getpid() % 100000, counter++);
}

inline ifreq request_for(const std::string& name) {
    ifreq request{};
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    return request;
}

class TapTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(::geteuid(), 0u) << "TAP tests need root (CAP_NET_ADMIN) to create interfaces";
        ASSERT_EQ(::access("/dev/net/tun", R_OK | W_OK), 0)
            << "TAP tests need /dev/net/tun (modprobe tun): " << std::strerror(errno);
    }

    // An AF_PACKET socket on the interface: sees what a backend writes, injects what it reads.
    static int packet_socket(const std::string& name) {
        const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        EXPECT_GE(fd, 0) << std::strerror(errno);
        sockaddr_ll address{};
        address.sll_family = AF_PACKET;
        address.sll_protocol = htons(ETH_P_ALL);
        address.sll_ifindex = static_cast<int>(::if_nametoindex(name.c_str()));
        EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
            << std::strerror(errno);
        return fd;
    }
};

}  // namespace hvmm::testing
