#include "net/mac_address.h"

#include <fmt/core.h>

namespace hvmm::net {
namespace {

std::optional<uint8_t> hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return static_cast<uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f')
        return static_cast<uint8_t>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return static_cast<uint8_t>(c - 'A' + 10);
    return std::nullopt;
}

}  // namespace

std::optional<MacAddress> parse_mac(std::string_view text) {
    // "xx:" five times and "xx": 17 characters exactly.
    constexpr size_t kTextLength = 6 * 3 - 1;
    if (text.size() != kTextLength) {
        return std::nullopt;
    }
    MacAddress mac{};
    for (size_t i = 0; i < 6; ++i) {
        const size_t at = i * 3;
        const auto high = hex_digit(text[at]);
        const auto low = hex_digit(text[at + 1]);
        if (!high || !low || (i < 5 && text[at + 2] != ':')) {
            return std::nullopt;
        }
        mac.bytes[i] = static_cast<uint8_t>(*high << 4 | *low);
    }
    return mac;
}

std::string to_string(const MacAddress& mac) {
    const auto& b = mac.bytes;
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4],
                       b[5]);
}

}  // namespace hvmm::net
