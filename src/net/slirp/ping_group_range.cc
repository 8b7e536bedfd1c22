#include "net/slirp/ping_group_range.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace hvmm::net {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n';
}

std::optional<uint64_t> next_number(std::string_view& text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end == text.data()) {
        return std::nullopt;
    }
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    return value;
}

}  // namespace

std::optional<GroupRange> parse_ping_group_range(std::string_view text) {
    const auto first = next_number(text);
    const auto last = next_number(text);
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    if (!first || !last || !text.empty()) {
        return std::nullopt;
    }
    return GroupRange{*first, *last};
}

bool ping_sockets_allowed(const GroupRange& range, gid_t group,
                          std::span<const gid_t> supplementary_groups) {
    if (range.contains(group)) {
        return true;
    }
    for (const gid_t supplementary : supplementary_groups) {
        if (range.contains(supplementary)) {
            return true;
        }
    }
    return false;
}

std::optional<std::string> ping_sockets_warning(std::string_view range_path) {
    std::ifstream file{std::string(range_path)};
    if (!file) {
        return std::nullopt;
    }
    std::stringstream text;
    text << file.rdbuf();
    const auto range = parse_ping_group_range(text.str());
    if (!range) {
        return std::nullopt;
    }
    std::vector<gid_t> groups(static_cast<size_t>(std::max(::getgroups(0, nullptr), 0)));
    const int count = ::getgroups(static_cast<int>(groups.size()), groups.data());
    groups.resize(static_cast<size_t>(std::max(count, 0)));
    const gid_t group = ::getegid();
    if (ping_sockets_allowed(*range, group, groups)) {
        return std::nullopt;
    }
    return fmt::format(
        "user network: ICMP (ping) from the guest will not work: this process's groups (gid {}) "
        "are outside net.ipv4.ping_group_range ({} {}); TCP and UDP work. To allow it: "
        "sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"",
        group, range->first, range->last);
}

}  // namespace hvmm::net
