// A virtio-net device under test: guest memory with a mock driver per queue (receive, transmit,
// control), real kick eventfds, a fake interrupt that counts, a FakeNetBackend, and helpers to
// post buffers and read what the device wrote. No transport: the rig activates the device the
// way virtio-pci does at DRIVER_OK. Single-threaded: tests call service_queue() where the I/O
// thread's kick watch would.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "base/event_fd.h"
#include "base/event_loop.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/net/virtio_net_spec.h"
#include "fake_net_backend.h"
#include "virtio_mock_driver.h"

namespace hvmm::virtio::testing {

namespace ns = net_spec;

inline constexpr MacAddress kNicMac{{0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF}};
inline constexpr MacAddress kOtherMac{{0x52, 0x54, 0x00, 0x11, 0x22, 0x33}};

class FakeInterrupt final : public VirtioInterrupt {
  public:
    void signal_used(uint16_t index) override { ++used.at(index); }
    void signal_config() override { ++config; }
    int call_fd(uint16_t) override { return -1; }
    std::array<unsigned, 3> used{};
    unsigned config = 0;
};

// A frame to mac with a payload byte pattern tag, length bytes in all.
inline std::vector<uint8_t> frame_to(const MacAddress& mac, size_t length, uint8_t tag = 0x5A) {
    std::vector<uint8_t> frame(length);
    for (size_t i = 0; i < length; ++i) frame[i] = static_cast<uint8_t>(tag + i * 7);
    std::memcpy(frame.data(), mac.bytes.data(), 6);
    std::memcpy(frame.data() + 6, kOtherMac.bytes.data(), 6);
    frame[12] = 0x08;
    frame[13] = 0x00;
    return frame;
}

// The features a Linux guest accepts of what the device offers.
inline uint64_t linux_features(uint64_t offered) {
    return offered;
}

struct NetRig {
    explicit NetRig(size_t vnet_header = 0, VirtioNetOptions options = {.mac = kNicMac},
                    uint32_t size = 256)
        : memory(make_test_memory()),
          loop(std::move(*EventLoop::create())),
          queues{SplitQueue(memory), SplitQueue(memory), SplitQueue(memory)},
          kicks{std::move(*EventFd::create()), std::move(*EventFd::create()),
                std::move(*EventFd::create())} {
        new_drivers(size);
        backend.vnet_header = vnet_header;
        options.queue_size = static_cast<uint16_t>(size);
        auto created = VirtioNet::create(backend, *loop, options);
        EXPECT_TRUE(created.has_value());
        device = std::move(*created);
    }
    NetRig(const NetRig&) = delete;

    // Drivers that start over with empty rings (after a reset, a driver initialises its rings).
    void new_drivers(uint32_t size) {
        for (unsigned i = 0; i < 3; ++i) {
            drivers[i].emplace(memory, i == ns::kCtrlQueue ? 64 : size, queue_layout(i));
        }
    }

    // What the transport does at DRIVER_OK: the queues with the accepted ring features, then
    // activate(). features defaults to everything offered.
    void activate(std::optional<uint64_t> features = std::nullopt, bool with_ctrl = true) {
        accepted = features.value_or(device->device_features());
        ASSERT_TRUE(device->accept_features(accepted));
        const bool event_idx = (accepted & kFeatureEventIdx) != 0;
        const bool indirect = (accepted & kFeatureIndirectDesc) != 0;
        for (unsigned i = 0; i < 3; ++i) {
            if (i == 2 && !with_ctrl) {
                queue_ptrs[i] = nullptr;
                kick_fds[i] = -1;
                continue;
            }
            ASSERT_TRUE(queues[i].activate(drivers[i]->config(event_idx, indirect)).has_value());
            queue_ptrs[i] = &queues[i];
            kick_fds[i] = kicks[i].fd();
        }
        device->activate(ActivationContext{memory, queue_ptrs, kick_fds, accepted, interrupt});
    }

    // What the transport does on reset: the device first, then the queues.
    void reset() {
        device->reset();
        for (auto& queue : queues) queue.reset();
    }

    MockDriver& rx() { return *drivers[ns::kRxQueue]; }
    MockDriver& tx() { return *drivers[ns::kTxQueue]; }
    MockDriver& ctrl() { return *drivers[ns::kCtrlQueue]; }

    // Posts count receive buffers of size bytes each; returns their guest addresses.
    std::vector<uint64_t> post_rx(size_t count, uint32_t size) {
        std::vector<uint64_t> addresses;
        for (size_t i = 0; i < count; ++i) {
            const uint64_t at = rx().alloc(size);
            rx().add_chain({{at, size, true}});
            addresses.push_back(at);
        }
        return addresses;
    }

    // Posts a frame for transmission, its header and frame in one buffer; returns the frame's
    // guest address (after the header).
    uint64_t post_tx(std::span<const uint8_t> frame, ns::NetHeader header = {}) {
        const uint64_t at = tx().alloc(sizeof(header) + frame.size());
        tx().put(at, header);
        tx().fill(at + sizeof(header), frame);
        tx().add_chain({{at, static_cast<uint32_t>(sizeof(header) + frame.size())}});
        return at + sizeof(header);
    }

    // Sends a control command; returns the ack byte the device wrote (0xEE if none).
    uint8_t command(uint8_t command_class, uint8_t command_id, std::span<const uint8_t> data) {
        std::vector<uint8_t> out{command_class, command_id};
        out.insert(out.end(), data.begin(), data.end());
        const uint64_t at = ctrl().alloc(out.size() + 1);
        ctrl().fill(at, out);
        ctrl().put<uint8_t>(at + out.size(), 0xEE);
        ctrl().add_chain({{at, static_cast<uint32_t>(out.size())}, {at + out.size(), 1, true}});
        device->service_queue(ns::kCtrlQueue);
        return ctrl().get<uint8_t>(at + out.size());
    }

    void kick(uint16_t index) {
        kicks[index].signal();
        device->service_queue(index);
    }

    GuestMemory memory;
    std::unique_ptr<EventLoop> loop;
    std::array<std::optional<MockDriver>, 3> drivers;
    std::array<SplitQueue, 3> queues;
    std::array<EventFd, 3> kicks;
    std::array<SplitQueue*, 3> queue_ptrs{};
    std::array<int, 3> kick_fds{-1, -1, -1};
    FakeInterrupt interrupt;
    hvmm::testing::FakeNetBackend backend;
    std::unique_ptr<VirtioNet> device;
    uint64_t accepted = 0;
};

}  // namespace hvmm::virtio::testing
