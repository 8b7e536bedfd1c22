// The network half of a --nic value (vmm/nic_spec.h has the forms): the net= value, the keys that
// belong to one kind of network (reconnect=, the user network's options), and their checks once
// the whole value is read. Pure; any thread.
#pragma once

#include <optional>
#include <string_view>

#include "base/error.h"
#include "vmm/nic_spec.h"

namespace hvmm {

// The network forms, for messages.
inline constexpr std::string_view kKnownNetworks =
    "user, ADDR/PREFIX, tap:NAME, stream:PATH, stream-listen:PATH, dgram:LOCAL,REMOTE, "
    "switch:NAME, socketpair";

// net=VALUE; remote is the part after net=dgram:LOCAL (nullopt for other networks).
Result<void> parse_network(std::string_view value, std::optional<std::string_view> remote,
                           NicSpec& spec);

// A --nic option's number (reconnect=, poll-us=): decimal digits only, at most four, not above
// max; nullopt otherwise (a sign, a unit, an empty value).
std::optional<unsigned> parse_option_number(std::string_view text, unsigned max);

// hostfwd, restrict, dns, ipv6: options of a user network only.
bool is_user_network_key(std::string_view key);

// What the loop over the keys collected, checked against the network once it is known:
// `user_key` is the first user-network key given, `reconnect` the value of reconnect=, and
// `network` the net= text for messages ("" when net= was not given).
Result<void> finish_network(NicSpec& spec, std::optional<std::string_view> user_key,
                            std::optional<std::string_view> reconnect, std::string_view network);

}  // namespace hvmm
