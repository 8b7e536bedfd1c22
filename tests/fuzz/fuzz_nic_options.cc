// Fuzz target for what a user (or a script handing hvmm untrusted text) passes to `hvmm run`: the
// input is argument words separated by newlines, parsed as `hvmm run ARGS...` (CLI11 and the
// checks after it), and every word is also parsed on its own as a --nic spec and as a --nic-opt
// value. Nothing may crash, and: a NIC spec that parses names a unicast MAC; a --nic-opt value
// that parses reads back the same from its canonical name; a MAC that parses formats back to
// text that parses to the same MAC.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "cli/run_options.h"
#include "net/mac_address.h"
#include "vmm/nic_optimizations.h"
#include "vmm/nic_spec.h"
#include "fuzz_input.h"

namespace {

using hvmm::fuzz::check;

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    size_t start = 0;
    while (start <= text.size() && words.size() < 64) {
        const size_t end = std::min(text.find('\n', start), text.size());
        words.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return words;
}

void check_word(const std::string& word, unsigned index) {
    if (const auto spec = hvmm::parse_nic_spec(word, index)) {
        check((spec->mac.bytes[0] & 1) == 0, "a NIC with a group MAC address");
        const std::vector<hvmm::NicSpec> one{*spec};
        (void)hvmm::check_nic_specs(one);
    }
    if (const auto optimizations = hvmm::parse_nic_optimizations(word)) {
        const auto again = hvmm::parse_nic_optimizations(hvmm::describe(*optimizations));
        check(again && *again == *optimizations, "--nic-opt does not read back its own name");
    }
    if (const auto mac = hvmm::parse_mac_address(word)) {
        const auto again = hvmm::parse_mac_address(hvmm::format_mac_address(*mac));
        check(again && *again == *mac, "a MAC address does not read back its own text");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    hvmm::fuzz::quiet_logs();
    const auto words = split_words(std::string_view(reinterpret_cast<const char*>(data), size));
    for (size_t i = 0; i < words.size(); ++i) {
        check_word(words[i], static_cast<unsigned>(i % 8));
    }

    std::vector<const char*> argv{"run"};
    for (const auto& word : words) argv.push_back(word.c_str());
    const auto options = hvmm::cli::parse_run_options(static_cast<int>(argv.size()), argv.data());
    if (!options) {
        return 0;
    }
    std::vector<hvmm::NicSpec> specs;
    for (size_t i = 0; i < options->nics.size(); ++i) {
        auto spec = hvmm::parse_nic_spec(options->nics[i], static_cast<unsigned>(i));
        if (!spec)
            return 0;
        specs.push_back(std::move(*spec));
    }
    (void)hvmm::check_nic_specs(specs);
    const std::string cmdline = hvmm::cli::kernel_cmdline(*options);
    (void)cmdline;
    return 0;
}
