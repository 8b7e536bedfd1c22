#include "base/cpu_list.h"

#include <pthread.h>

#include <charconv>
#include <string>

namespace hvmm {
namespace {

// A CPU number: decimal digits only, below CPU_SETSIZE.
Result<int> parse_cpu(std::string_view text, std::string_view list) {
    int cpu = -1;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), cpu);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size() || cpu < 0) {
        return fail("CPU list '{}': '{}' is not a CPU number", list, text);
    }
    if (cpu >= CPU_SETSIZE) {
        return fail("CPU list '{}': CPU {} is past the largest this host can name ({})", list, cpu,
                    CPU_SETSIZE - 1);
    }
    return cpu;
}

}  // namespace

Result<cpu_set_t> parse_cpu_list(std::string_view list) {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    if (list.empty()) {
        return fail("CPU list is empty (want e.g. 0 or 1-3 or 0,2-3)");
    }
    std::string_view rest = list;
    while (true) {
        const size_t comma = rest.find(',');
        const std::string_view part = rest.substr(0, comma);
        const size_t dash = part.find('-');
        const int first = HVMM_TRY(parse_cpu(part.substr(0, dash), list));
        const int last = dash == std::string_view::npos
                             ? first
                             : HVMM_TRY(parse_cpu(part.substr(dash + 1), list));
        if (last < first) {
            return fail("CPU list '{}': range '{}' runs backwards", list, part);
        }
        for (int cpu = first; cpu <= last; ++cpu) {
            CPU_SET(cpu, &cpus);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(comma + 1);
    }
    return cpus;
}

Result<void> pin_current_thread(const cpu_set_t& cpus, std::string_view list) {
    const int error = ::pthread_setaffinity_np(::pthread_self(), sizeof(cpus), &cpus);
    if (error != 0) {
        errno = error;
        return fail_errno("cannot place this thread on CPUs {}", list);
    }
    return {};
}

}  // namespace hvmm
