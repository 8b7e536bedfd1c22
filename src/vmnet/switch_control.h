// The control channel of a running switch: a Unix stream socket beside the switch's own
// (NAME.ctl, in the same 0700 directory), one request per connection. The client sends one JSON
// object and a newline, e.g. {"op":"status"} or {"op":"stop"}; the daemon answers with one JSON
// object ({"ok":true,...} or {"ok":false,"error":"..."}) and closes. One request per connection
// keeps the daemon's side stateless and bounded.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace hvmm::vmnet {

// Sends `request` to the control socket at `path` and returns the daemon's answer (an answer
// with "ok": false is returned as an error with its message).
Result<nlohmann::json> control_request(const std::string& path, const nlohmann::json& request,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace hvmm::vmnet
