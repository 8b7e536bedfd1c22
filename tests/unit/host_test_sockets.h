// The host's side of the NAT tests (the user network's and the switch's): a TCP listener on the
// loopback for a guest to reach, a port nothing listens on for a forward to bind, and a
// connect() to a forwarded port. Shared so both tests mean the same by them.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

#include <gtest/gtest.h>

#include "base/unique_fd.h"

namespace hvmm::testing {

// A listening TCP socket on 127.0.0.1 at a port the kernel picked.
struct HostListener {
    UniqueFd fd;
    uint16_t port = 0;

    HostListener() : fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
        sockaddr_in address{
            .sin_family = AF_INET, .sin_port = 0, .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)}};
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        EXPECT_EQ(::listen(fd.get(), 4), 0);
        socklen_t length = sizeof address;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length);
        port = ntohs(address.sin_port);
    }
    UniqueFd accept() const {
        return UniqueFd(::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    }
};

// A port nothing listens on now (picked by the kernel, then released).
inline uint16_t free_port() {
    HostListener listener;
    return listener.port;
}

// Connects (without waiting) to `port` on the host's loopback, IPv4 or IPv6.
inline UniqueFd connect_to_loopback(bool ipv6, uint16_t port) {
    UniqueFd client(
        ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (ipv6) {
        sockaddr_in6 address{.sin6_family = AF_INET6, .sin6_port = htons(port)};
        address.sin6_addr = in6addr_loopback;
        ::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    } else {
        sockaddr_in address{.sin_family = AF_INET,
                            .sin_port = htons(port),
                            .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)}};
        ::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
    }
    return client;
}

}  // namespace hvmm::testing
