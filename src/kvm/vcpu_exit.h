// Why KVM_RUN returned, decoded from kvm_run into what the run loop acts on.
#pragma once

#include <cstdint>
#include <span>
#include <variant>

namespace hvmm::kvm {

namespace exit {

// IN/OUT (and their string forms: `count` elements of `size` bytes, contiguous in data). For an
// IN, the handler fills data before the next KVM_RUN.
struct Io {
    uint16_t port;
    uint8_t size;
    bool is_write;
    uint32_t count;
    std::span<uint8_t> data;  // count * size bytes inside kvm_run
};
// A guest access to guest-physical memory that no memory slot backs.
struct Mmio {
    uint64_t address;
    bool is_write;
    std::span<uint8_t> data;  // len bytes inside kvm_run; filled by the handler for a read
};
struct Hlt {};
// Triple fault, or a reset KVM cannot perform itself.
struct Shutdown {};
// KVM_EXIT_SYSTEM_EVENT: type is KVM_SYSTEM_EVENT_SHUTDOWN / _RESET / _CRASH.
struct SystemEvent {
    uint32_t type;
};
struct InternalError {
    uint32_t suberror;
};
struct FailEntry {
    uint64_t hardware_reason;
};
// KVM_RUN interrupted by a signal (or immediate_exit): the vCPU was kicked.
struct Intr {};
struct Unknown {
    uint32_t reason;
};

}  // namespace exit

using VcpuExit = std::variant<exit::Io, exit::Mmio, exit::Hlt, exit::Shutdown, exit::SystemEvent,
                              exit::InternalError, exit::FailEntry, exit::Intr, exit::Unknown>;

}  // namespace hvmm::kvm
