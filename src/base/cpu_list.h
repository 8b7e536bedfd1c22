// CPU lists in the kernel's cpuset syntax ("0", "1-3", "0,2-3"), as taskset -c and
// /sys/devices/system/cpu/online write them, for placing hvmm's threads.
// Pure parsing plus one call that applies a list to the calling thread.
#pragma once

#include <sched.h>

#include <string_view>

#include "base/error.h"

namespace hvmm {

// The CPUs a list names. Refused with a message naming the offending part: an empty list or
// part, a non-number, a range running backwards, a CPU at or past CPU_SETSIZE.
Result<cpu_set_t> parse_cpu_list(std::string_view list);

// Restricts the calling thread to CPUS (sched_setaffinity); an error names the list and why.
Result<void> pin_current_thread(const cpu_set_t& cpus, std::string_view list);

}  // namespace hvmm
