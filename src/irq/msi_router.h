// Where a PCI function's MSI-X messages go: the device side (the MSI-X table) decides which
// message an eventfd stands for and whether it may fire; the router makes a signal on that
// eventfd deliver the message. KVM's implementation routes a GSI per distinct message
// (KVM_SET_GSI_ROUTING, the table replaced whole beside the IOAPIC's pins) and binds the eventfd
// to it as an irqfd, so delivery costs the signalling thread one eventfd write and no exit;
// tests use a fake that records.
//
// Threads: any; implementations lock.
#pragma once

#include <cstdint>

#include "base/error.h"

namespace hvmm::pci {

struct MsiMessage {
    uint64_t address = 0;
    uint32_t data = 0;
    bool operator==(const MsiMessage&) const = default;
};

class MsiRouter {
  public:
    virtual ~MsiRouter() = default;
    // From now on a signal on event_fd delivers message. Called again for the same fd with
    // another message, it re-points the fd. An error (no GSI left, KVM refused) is reported;
    // the caller counts it and falls back to signal().
    virtual Result<void> bind(int event_fd, MsiMessage message) = 0;
    // event_fd delivers nothing any more (a masked vector: its owner watches the fd itself).
    // Unbinding an fd that is not bound does nothing.
    virtual void unbind(int event_fd) = 0;
    // Delivers message once, now (a pending vector unmasked; a fallback).
    virtual void signal(MsiMessage message) = 0;
};

}  // namespace hvmm::pci
