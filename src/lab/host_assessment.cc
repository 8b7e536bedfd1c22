#include "lab/host_assessment.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/core.h>

#include "base/unique_fd.h"

namespace hvmm::lab {
namespace {

// The flags line of the first processor in /proc/cpuinfo, padded with spaces for whole-word
// search; empty when unreadable.
std::string cpu_flags() {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("flags", 0) == 0) {
            const auto colon = line.find(':');
            return " " + (colon == std::string::npos ? line : line.substr(colon + 1)) + " ";
        }
    }
    return {};
}

bool has_flag(const std::string& flags, const char* flag) {
    return flags.find(fmt::format(" {} ", flag)) != std::string::npos;
}

bool path_exists(const char* path) { return ::access(path, F_OK) == 0; }

}  // namespace

HostAssessment assess_host() {
    HostAssessment result;
    std::string kvm_problem;
    {
        UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
        result.kvm_usable = kvm.valid();
        if (!kvm.valid()) {
            kvm_problem = fmt::format("cannot open /dev/kvm: {}", std::strerror(errno));
        }
    }

    const char* override_value = std::getenv("HVMM_LAB");
    const std::string mode = override_value != nullptr ? override_value : "auto";
    if (mode == "always") {
        result.ordinary_guests_at_speed = false;
        result.reason = "HVMM_LAB=always: every run goes through the lab";
        return result;
    }
    if (mode == "never") {
        result.ordinary_guests_at_speed = result.kvm_usable;
        result.reason = result.kvm_usable ? "HVMM_LAB=never: runs use this host's /dev/kvm directly"
                                          : "HVMM_LAB=never, but " + kvm_problem;
        return result;
    }
    if (mode != "auto") {
        result.reason = fmt::format("HVMM_LAB={} is not one of always, never, auto; deciding as auto: ",
                                    mode);
    }

    if (!result.kvm_usable) {
        result.reason += kvm_problem;
        return result;
    }
    const std::string flags = cpu_flags();
    const bool vmx = has_flag(flags, "vmx");
    const bool svm = has_flag(flags, "svm");
    if (path_exists("/sys/module/kvm_pvm")) {
        result.reason +=
            "host KVM is PVM (kvm_pvm): ordinary guest code runs in KVM's instruction emulator, "
            "too slow to boot Linux; runs go through the lab";
    } else if (!vmx && !svm) {
        result.reason +=
            "the CPU flags have neither vmx nor svm: /dev/kvm cannot run ordinary guests at "
            "speed; runs go through the lab";
    } else {
        result.ordinary_guests_at_speed = true;
        result.reason += fmt::format("/dev/kvm is usable and the CPU has {}", vmx ? "vmx" : "svm");
    }
    return result;
}

}  // namespace hvmm::lab
