// Fuzz target for the virtio-net device: the input picks the features the driver accepts and
// whether the backend carries a vnet header, lays out three queues (receive, transmit, control)
// with guest-chosen descriptors, ring entries and buffer bytes, then scripts device work:
// kicks on each queue, frames from the backend (any length, any header), link changes,
// notification coalescing timers expiring, configuration accesses, resets and reactivation. It must
// never crash or hang, and every frame handed to the backend must be a gather list inside guest RAM
// (or the device's own header copy) of a sane length: checked here, aborting otherwise (run under
// ASan/UBSan to catch the rest).
#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "base/event_fd.h"
#include "base/event_loop.h"
#include "base/log.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/queue/virtq_ring.h"
#include "fuzz_input.h"
#include "memory/guest_memory.h"
#include "net/frame_limits.h"

namespace {

using hvmm::fuzz::FuzzInput;

namespace virtio = hvmm::virtio;
namespace ns = hvmm::virtio::net_spec;
using hvmm::GuestAddress;
using hvmm::GuestMemory;

// Guest RAM [0, 256 KiB) and [384 KiB, 448 KiB) with a hole between (where MMIO would be).
constexpr uint64_t kLowEnd = 256 * 1024;
constexpr uint64_t kHighBase = 384 * 1024;
constexpr uint64_t kHighEnd = 448 * 1024;
// Queue q's rings (up to 64 entries each), then buffer space.
constexpr uint64_t desc_table(unsigned q) {
    return 0x1000 + 0x1000ull * q;
}
constexpr uint64_t avail_ring(unsigned q) {
    return 0x4000 + 0x200ull * q;
}
constexpr uint64_t used_ring(unsigned q) {
    return 0x5000 + 0x400ull * q;
}
constexpr uint64_t kData = 0x8000;

GuestMemory& memory() {
    static GuestMemory m = [] {
        const std::array<std::pair<uint64_t, uint64_t>, 2> layout{
            {{0, kLowEnd}, {kHighBase, kHighEnd - kHighBase}}};
        auto created = GuestMemory::create_with_regions(layout);
        if (!created) {
            std::fprintf(stderr, "%s\n", created.error().message.c_str());
            std::abort();
        }
        return std::move(*created);
    }();
    return m;
}

bool inside_ram(const void* base, size_t length) {
    const auto* p = static_cast<const uint8_t*>(base);
    for (const auto& region : memory().regions()) {
        if (p >= region.host && length <= region.size &&
            static_cast<uint64_t>(p - region.host) <= region.size - length) {
            return true;
        }
    }
    return false;
}

// A backend that checks what the device sends and lets the script push frames at it.
class CheckingBackend final : public hvmm::NetBackend {
  public:
    explicit CheckingBackend(size_t vnet_header) : vnet_header_(vnet_header) {}
    void send(std::span<const iovec> frame) override {
        size_t total = 0;
        for (size_t i = 0; i < frame.size(); ++i) {
            // The first entry may be the device's checked copy of the header, and a frame
            // without one may be the device's copy with a checksum it completed; all else is
            // guest RAM.
            const bool own_header = i == 0 && vnet_header_ != 0 && frame[i].iov_len == 12;
            const bool own_copy = frame.size() == 1 && vnet_header_ == 0;
            if (frame[i].iov_len == 0 ||
                (!own_header && !own_copy && !inside_ram(frame[i].iov_base, frame[i].iov_len))) {
                std::abort();
            }
            total += frame[i].iov_len;
        }
        if (total < vnet_header_ + hvmm::net::kEthernetHeaderSize ||
            total > vnet_header_ + hvmm::net::kMaxFrameSize) {
            std::abort();
        }
        ++sent;
    }
    using NetBackend::send;
    void set_sink(hvmm::FrameSink* sink) override { sink_ = sink; }
    int receive_fd() const override { return -1; }
    size_t poll_receive() override { return 0; }
    bool link_up() const override { return true; }
    std::string_view describe() const override { return "fuzz"; }
    hvmm::NetBackendStats stats() const override { return {}; }
    size_t vnet_header_size() const override { return vnet_header_; }
    hvmm::Result<void> set_receive_offloads(const hvmm::net::NetOffloads&) override {
        if (vnet_header_ == 0)
            std::abort();  // the device must not ask a plain backend
        return {};
    }
    hvmm::FrameSink* sink() const { return sink_; }
    uint64_t sent = 0;

  private:
    size_t vnet_header_;
    hvmm::FrameSink* sink_ = nullptr;
};

struct Totals {
    uint64_t activated = 0, sent = 0, received = 0, buffers = 0, held = 0, ctrl = 0;
    ~Totals() {
        if (std::getenv("FUZZ_VIRTIO_NET_STATS")) {
            std::fprintf(stderr,
                         "activated %llu sent %llu received %llu buffers %llu held %llu "
                         "ctrl %llu\n",
                         (unsigned long long)activated, (unsigned long long)sent,
                         (unsigned long long)received, (unsigned long long)buffers,
                         (unsigned long long)held, (unsigned long long)ctrl);
        }
    }
};
Totals g_totals;

class CountingInterrupt final : public virtio::VirtioInterrupt {
  public:
    void signal_used(uint16_t index) override {
        if (index >= ns::kQueueCount)
            std::abort();
    }
    void signal_config() override {}
    int call_fd(uint16_t) override { return -1; }
};

// A descriptor: usually a buffer in the data area of a useful size, sometimes anything.
// Receive buffers are mostly device-writable, so frames get somewhere.
virtio::Descriptor pick_descriptor(FuzzInput& in, uint32_t queue_size, bool receive) {
    virtio::Descriptor d{};
    const uint8_t kind = in.byte();
    d.flags = static_cast<uint16_t>(kind & 7);
    if (receive && (kind & 0x30) != 0)
        d.flags |= virtio::desc_flags::kWrite;
    if ((kind & 0xC0) == 0xC0) {
        d.addr = in.qword();
        d.len = in.dword();
    } else {
        d.addr = kData + 16ull * (in.word() % ((kLowEnd - kData) / 16));
        const uint8_t size = in.byte();
        d.len = (size & 0x80) ? 16u * in.word() : size;
        if (d.flags & virtio::desc_flags::kIndirect)
            d.len = 16u * (size % 9);
    }
    d.next = static_cast<uint16_t>(in.byte() % (queue_size + 1));
    return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    hvmm::fuzz::quiet_logs();
    GuestMemory& ram = memory();
    for (const auto& region : ram.regions()) std::memset(region.host, 0, region.size);
    FuzzInput in(data, size);

    static auto loop = std::move(*hvmm::EventLoop::create());
    static std::array<hvmm::EventFd, 3> kicks{std::move(*hvmm::EventFd::create()),
                                              std::move(*hvmm::EventFd::create()),
                                              std::move(*hvmm::EventFd::create())};
    const uint8_t shape = in.byte();
    CheckingBackend backend((shape & 1) ? 12 : 0);
    CountingInterrupt interrupt;
    const uint32_t queue_size = 1u << (in.byte() % 7);  // 1..64
    auto device = virtio::VirtioNet::create(
        backend, *loop,
        {.mac = {{0x52, 0x54, 0, 1, 2, 3}},
         .queue_size = static_cast<uint16_t>(queue_size),
         .mtu = (shape & 2) ? std::optional<uint16_t>(1500) : std::nullopt});
    if (!device)
        std::abort();
    virtio::VirtioNet& net = **device;
    const uint64_t features = net.device_features() & (in.qword() | hvmm::virtio::kFeatureVersion1);

    std::array<virtio::SplitQueue, 3> queues{virtio::SplitQueue(ram), virtio::SplitQueue(ram),
                                             virtio::SplitQueue(ram)};
    std::array<virtio::SplitQueue*, 3> queue_ptrs{};
    std::array<int, 3> kick_fds{-1, -1, -1};
    auto sizes = [&](unsigned q) { return q == ns::kCtrlQueue ? 64u : queue_size; };
    auto activate = [&] {
        if (!net.accept_features(features))
            return false;
        for (unsigned q = 0; q < 3; ++q) {
            const virtio::SplitQueueConfig config{sizes(q),
                                                  GuestAddress(desc_table(q)),
                                                  GuestAddress(avail_ring(q)),
                                                  GuestAddress(used_ring(q)),
                                                  (features & virtio::kFeatureEventIdx) != 0,
                                                  (features & virtio::kFeatureIndirectDesc) != 0};
            queues[q].reset();
            if (!queues[q].activate(config))
                std::abort();
            queue_ptrs[q] = &queues[q];
            kick_fds[q] = kicks[q].fd();
        }
        net.activate(virtio::ActivationContext{ram, queue_ptrs, kick_fds, features, interrupt});
        ++g_totals.activated;
        return true;
    };
    activate();

    // The guest's rings and buffers.
    for (unsigned q = 0; q < 3; ++q) {
        for (uint32_t i = 0; i < sizes(q); ++i) {
            ram.write_obj(GuestAddress(desc_table(q) + 16ull * i),
                          pick_descriptor(in, sizes(q), q == ns::kRxQueue));
        }
    }
    std::vector<uint8_t> frame;
    for (int step = 0; step < 256 && !in.empty(); ++step) {
        const uint8_t op = in.byte();
        switch (op % 10) {
            case 0:
            case 1: {  // the guest publishes entries on a queue and kicks
                const unsigned q = in.byte() % 3;
                const uint64_t avail = avail_ring(q);
                const uint16_t idx = ram.read_obj<uint16_t>(GuestAddress(avail + 2)).value_or(0);
                const unsigned count = in.byte() % 8;
                for (unsigned i = 0; i < count; ++i) {
                    ram.write_obj(GuestAddress(avail + 4 + 2ull * ((idx + i) % sizes(q))),
                                  static_cast<uint16_t>(in.byte() % sizes(q)));
                }
                ram.write_obj(GuestAddress(avail + 2),
                              static_cast<uint16_t>(idx + ((op & 0x80) ? in.word() : count)));
                kicks[q].signal();
                net.service_queue(static_cast<uint16_t>(q));
                break;
            }
            case 2: {  // the guest rewrites a descriptor
                const unsigned q = in.byte() % 3;
                ram.write_obj(GuestAddress(desc_table(q) + 16ull * (in.byte() % sizes(q))),
                              pick_descriptor(in, sizes(q), q == ns::kRxQueue));
                break;
            }
            case 3: {  // buffer bytes (control commands, TX headers)
                const uint64_t at = kData + in.word() % (kLowEnd - kData - 64);
                for (int i = 0, n = in.byte() % 64; i < n; ++i) {
                    ram.write_obj(GuestAddress(at + i), in.byte());
                }
                break;
            }
            case 4:
            case 5: {  // a frame from the backend
                size_t length = in.byte();
                if (op & 0x80)
                    length = in.dword() % (hvmm::net::kMaxFrameSize + 100);
                frame.assign(length, op);
                for (size_t i = 0; i < std::min<size_t>(length, 32); ++i) frame[i] = in.byte();
                if (backend.sink() != nullptr && ((op & 0x40) || backend.sink()->can_receive())) {
                    backend.sink()->receive(frame);
                }
                break;
            }
            case 6:
                if (op & 0x40) {
                    // A coalescing timer's expiry (NOTF_COAL), due or not, on any queue index.
                    net.coalescing_timer_expired(in.byte() % 4);
                } else if (backend.sink() != nullptr) {
                    backend.sink()->link_changed(op & 0x80);
                }
                break;
            case 7: {
                std::array<uint8_t, 8> bytes{};
                const uint32_t offset = in.byte() % net.config_size();
                const size_t length =
                    std::min<size_t>(1 + in.byte() % 4, net.config_size() - offset);
                if (op & 0x80) {
                    net.write_config(offset, std::span(bytes).first(length));
                } else {
                    net.read_config(offset, std::span(bytes).first(length));
                }
                break;
            }
            case 8:  // the guest sets used_event (EVENT_IDX) or flags
                ram.write_obj(GuestAddress(avail_ring(in.byte() % 3)), in.word());
                net.service_backend();
                break;
            case 9:  // device reset; the driver may start again
                net.reset();
                for (auto& queue : queues) queue.reset();
                if (op & 0x80)
                    activate();
                break;
        }
    }
    const auto counters = net.counters();
    g_totals.sent += counters.tx_frames;
    g_totals.received += counters.rx_frames;
    g_totals.buffers += counters.rx_buffers;
    g_totals.held += counters.rx_held;
    g_totals.ctrl += counters.ctrl_commands;
    net.reset();
    return 0;
}
