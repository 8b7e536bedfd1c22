#include "net/ipv4.h"

#include <fmt/core.h>

namespace hvmm::net {
namespace {

std::optional<uint32_t> parse_decimal(std::string_view text, uint32_t max) {
    if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) {
        return std::nullopt;
    }
    uint32_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value > max) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

std::optional<Ipv4Address> parse_ipv4(std::string_view text) {
    uint32_t value = 0;
    for (int part = 0; part < 4; ++part) {
        const size_t dot = part < 3 ? text.find('.') : text.size();
        if (dot == std::string_view::npos) {
            return std::nullopt;
        }
        const auto octet = parse_decimal(text.substr(0, dot), 255);
        if (!octet) {
            return std::nullopt;
        }
        value = value << 8 | *octet;
        text.remove_prefix(part < 3 ? dot + 1 : dot);
    }
    return Ipv4Address{value};
}

std::string to_string(Ipv4Address address) {
    const uint32_t v = address.value;
    return fmt::format("{}.{}.{}.{}", v >> 24, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF);
}

std::optional<Ipv4Subnet> parse_ipv4_subnet(std::string_view text) {
    const size_t slash = text.find('/');
    if (slash == std::string_view::npos) {
        return std::nullopt;
    }
    const auto address = parse_ipv4(text.substr(0, slash));
    const auto prefix = parse_decimal(text.substr(slash + 1), 32);
    if (!address || !prefix) {
        return std::nullopt;
    }
    const Ipv4Subnet subnet{*address, static_cast<uint8_t>(*prefix)};
    if ((address->value & ~subnet.mask()) != 0) {
        return std::nullopt;
    }
    return subnet;
}

std::string to_string(const Ipv4Subnet& subnet) {
    return fmt::format("{}/{}", to_string(subnet.network), subnet.prefix);
}

uint32_t checksum_accumulate(uint32_t sum, std::span<const uint8_t> bytes) {
    size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) {
        sum += uint32_t{bytes[i]} << 8 | bytes[i + 1];
        // Fold as we go so no input length can overflow the 32-bit accumulator.
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    if (i < bytes.size()) {
        sum += uint32_t{bytes[i]} << 8;
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return sum;
}

uint16_t checksum_finish(uint32_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return static_cast<uint16_t>(~sum);
}

}  // namespace hvmm::net
