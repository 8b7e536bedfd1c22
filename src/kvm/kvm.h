// /dev/kvm: the system-level handle. Opening it checks the API version and every capability hvmm
// relies on, so a missing feature is reported by name before any VM exists.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace hvmm::kvm {

struct Capability {
    int id;
    std::string_view name;
    bool required;  // optional ones are used when present (coalesced I/O, ioeventfd, irqfd)
};

// Every capability hvmm uses, for checks and for `hvmm doctor`.
std::span<const Capability> capabilities_used();

class Kvm {
  public:
    // Opens /dev/kvm (or path, for tests) and fails naming the first missing required capability.
    static Result<Kvm> open(const char* path = "/dev/kvm");
    // Opens without checking capabilities: `hvmm doctor` reports them one by one.
    static Result<Kvm> open_unchecked(const char* path = "/dev/kvm");

    int api_version() const;
    // KVM_CHECK_EXTENSION's answer (0 when absent).
    int check_extension(int capability) const;
    bool has(int capability) const { return check_extension(capability) > 0; }
    Result<void> check_required_capabilities() const;

    Result<size_t> vcpu_mmap_size() const;
    // KVM_GET_SUPPORTED_CPUID: the entries this host can give a guest.
    Result<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;

    int fd() const { return fd_.get(); }

  private:
    explicit Kvm(UniqueFd fd) : fd_(std::move(fd)) {}
    UniqueFd fd_;
};

}  // namespace hvmm::kvm
