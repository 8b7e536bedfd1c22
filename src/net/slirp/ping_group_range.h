// Whether the guest's pings can leave through a user (NAT) network. libslirp sends ICMP echo
// through unprivileged ICMP ("ping") sockets, which Linux opens only for a process with a group
// inside net.ipv4.ping_group_range; Debian's default "1 0" is an empty range, so without a
// sysctl the guest's ping gets no answer while TCP and UDP work. hvmm says so once, at start,
// rather than leave the user to guess.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hvmm::net {

inline constexpr std::string_view kPingGroupRangePath = "/proc/sys/net/ipv4/ping_group_range";

struct GroupRange {
    uint64_t first = 1;
    uint64_t last = 0;  // first > last: the range is empty (the kernel's "disabled")
    bool contains(uint64_t gid) const { return first <= gid && gid <= last; }
};

// "1\t0\n" as the kernel prints it: two unsigned numbers separated by white space.
std::optional<GroupRange> parse_ping_group_range(std::string_view text);

bool ping_sockets_allowed(const GroupRange& range, gid_t group,
                          std::span<const gid_t> supplementary_groups);

// The one warning to print when this process cannot open ping sockets (nullopt when it can, or
// when the file cannot be read: a kernel without ping sockets has nothing to allow).
std::optional<std::string> ping_sockets_warning(std::string_view range_path = kPingGroupRangePath);

}  // namespace hvmm::net
