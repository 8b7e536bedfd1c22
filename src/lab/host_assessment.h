// Whether this host's /dev/kvm can run ordinary guests (a stock Linux kernel) at speed, or
// whether hvmm must run them inside the nested-SVM lab (lab/run.sh).
#pragma once

#include <string>

namespace hvmm::lab {

struct HostAssessment {
    bool kvm_usable = false;               // /dev/kvm opens read-write
    bool ordinary_guests_at_speed = false; // hardware virtualization runs unmodified guest code
    std::string reason;                    // one sentence a user can read in `hvmm doctor`
};

// Looks at /dev/kvm, /proc/cpuinfo's flags and /sys/module/kvm_pvm. HVMM_LAB=always makes the
// answer "not at speed" (every run goes through the lab), HVMM_LAB=never "at speed" (never the
// lab); auto or unset decides from the host.
HostAssessment assess_host();

}  // namespace hvmm::lab
