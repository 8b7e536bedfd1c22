// Base64 (RFC 4648, standard alphabet, padded): how --run carries a shell command through the
// kernel command line, which splits on spaces and mangles quotes.
#pragma once

#include <string>
#include <string_view>

namespace hvmm::cli {

std::string base64_encode(std::string_view bytes);

}  // namespace hvmm::cli
