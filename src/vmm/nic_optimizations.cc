#include "vmm/nic_optimizations.h"

namespace hvmm {

Result<NicOptimizations> parse_nic_optimizations(std::string_view text) {
    if (text == "all") {
        return NicOptimizations::all();
    }
    if (text == "paper") {
        return NicOptimizations::paper();
    }
    if (text == "baseline" || text == "none") {
        return NicOptimizations::none();
    }
    NicOptimizations result = NicOptimizations::none();
    std::string_view rest = text;
    while (true) {
        const size_t comma = rest.find(',');
        const std::string_view name = rest.substr(0, comma);
        bool* flag = name == "ports"     ? &result.ports
                     : name == "combine" ? &result.combine
                     : name == "notify"  ? &result.notify
                     : name == "kick"    ? &result.kick
                                         : nullptr;
        if (flag == nullptr) {
            return fail("--nic-opt '{}': unknown optimization '{}' (want all, baseline, or a "
                        "comma list of ports, combine, notify, kick)",
                        text, name);
        }
        if (*flag) {
            return fail("--nic-opt '{}': '{}' named twice", text, name);
        }
        *flag = true;
        if (comma == std::string_view::npos) {
            break;
        }
        rest = rest.substr(comma + 1);
    }
    return result;
}

std::string describe(const NicOptimizations& optimizations) {
    if (optimizations == NicOptimizations::all()) {
        return "all";
    }
    if (optimizations == NicOptimizations::none()) {
        return "baseline";
    }
    if (optimizations == NicOptimizations::paper()) {
        return "paper";
    }
    std::string names;
    auto add = [&names](bool on, std::string_view name) {
        if (!on)
            return;
        if (!names.empty())
            names += ',';
        names += name;
    };
    add(optimizations.ports, "ports");
    add(optimizations.combine, "combine");
    add(optimizations.notify, "notify");
    add(optimizations.kick, "kick");
    return names;
}

}  // namespace hvmm
