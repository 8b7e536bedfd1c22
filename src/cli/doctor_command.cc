#include <cstdio>

#include <fmt/core.h>

#include "cli/commands.h"
#include "kvm/kvm.h"
#include "lab/host_assessment.h"
#include "lab/lab_launcher.h"

namespace hvmm::cli {

int doctor_command() {
    int status = 0;
    auto kvm = kvm::Kvm::open_unchecked();
    if (!kvm) {
        fmt::print("/dev/kvm: {}\n", kvm.error().message);
        status = 1;
    } else {
        fmt::print("/dev/kvm: KVM API version {}\n", kvm->api_version());
        for (const auto& capability : kvm::capabilities_used()) {
            const bool present = kvm->has(capability.id);
            fmt::print("  {:<32} {:<8} {}\n", capability.name, present ? "present" : "MISSING",
                       capability.required ? "required" : "optional");
            if (capability.required && !present)
                status = 1;
        }
    }
    const lab::HostAssessment host = lab::assess_host();
    fmt::print("ordinary guests at speed: {}\n", host.ordinary_guests_at_speed ? "yes" : "no");
    if (!host.reason.empty()) {
        fmt::print("  {}\n", host.reason);
    }
    if (!host.ordinary_guests_at_speed) {
        fmt::print("  `hvmm run` will run the guest inside the lab (see `hvmm lab`)\n");
    }
    // The lab as lab/run.sh would start it now (HVMM_LAB_CPUS, HVMM_LAB_QEMU, the cache), so
    // what doctor says and what a run does cannot drift apart.
    if (auto lab = lab::describe_lab()) {
        fmt::print("{}\n", lab::format_lab_line(*lab));
    } else {
        fmt::print("lab: cannot describe it: {}\n", lab.error().message);
    }
    return status;
}

}  // namespace hvmm::cli
