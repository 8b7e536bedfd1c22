// A backend on a Linux TAP interface (/dev/net/tun, IFF_TAP | IFF_NO_PI): frames the guest sends
// appear on the host's interface NAME and the host's frames reach the guest.
//
// open() attaches to an existing TAP called NAME or creates it. A TAP hvmm created is not
// persistent, so the kernel deletes it when hvmm closes its fd; one someone else made (ip tuntap
// add, persistent) is left as it was found. The link follows the interface's admin state (IFF_UP):
// `ip link set NAME down` on the host takes the guest's carrier down.
//
// With TapOptions::vnet_header (a virtio-net NIC) the TAP is opened with IFF_VNET_HDR: every
// frame in both directions starts with a 12-byte virtio_net_hdr_v1, so a guest's checksum and
// segmentation offloads pass through the host kernel untouched. The size is set to 12 with
// TUNSETVNETHDRSZ and the receive offloads to none with TUNSETOFFLOAD at every open, because a
// persistent TAP keeps what its previous user set; set_receive_offloads() then follows what the
// guest acknowledged.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "net/backend_counters.h"
#include "net/net_backend.h"

namespace hvmm {

struct TapOptions {
    bool vnet_header = false;  // IFF_VNET_HDR: frames carry a virtio_net_hdr_v1 (see above)
};

class TapBackend final : public NetBackend {
  public:
    static Result<std::unique_ptr<TapBackend>> open(std::string_view name,
                                                    TapOptions options = {});

    // True when hvmm created the interface (it vanishes when this backend is destroyed).
    bool created() const { return created_; }
    const std::string& interface_name() const { return name_; }

    using NetBackend::send;
    void send(std::span<const iovec> frame) override;
    // A new sink assumes the link is up (a NIC powers up with carrier); if it is not, the sink
    // hears so at the next refresh_link() or poll_receive().
    void set_sink(FrameSink* sink) override {
        sink_ = sink;
        reported_link_up_ = true;
    }
    int receive_fd() const override { return tap_.get(); }
    size_t poll_receive() override;
    bool link_up() const override { return link_up_.load(std::memory_order_relaxed); }
    // Reads IFF_UP with SIOCGIFFLAGS; an interface that is gone counts as down.
    void refresh_link() override;
    std::string_view describe() const override { return description_; }
    NetBackendStats stats() const override { return counters_.snapshot(); }
    // The totals, then the drops by cause: tx_link_down (the interface is down), tx_host_busy
    // (the host's queue was full), tx_detached (the interface is gone), tx_errors (anything
    // else), rx_runts, rx_no_sink (arrived before a NIC was attached).
    std::vector<NamedCount> named_counts() const override;
    size_t vnet_header_size() const override { return vnet_header_size_; }
    // TUNSETOFFLOAD with the TUN_F_* bits for offloads (none is always accepted).
    Result<void> set_receive_offloads(const net::NetOffloads& offloads) override;

  private:
    TapBackend(std::string name, UniqueFd tap, UniqueFd control, bool created,
               size_t vnet_header_size);
    void note_detached();

    std::string name_;
    std::string description_;
    UniqueFd tap_;
    UniqueFd control_;  // an AF_INET datagram socket for the SIOC[GS]IFFLAGS ioctls
    bool created_;
    size_t vnet_header_size_;  // 0, or net::kVnetHeaderSize with IFF_VNET_HDR
    FrameSink* sink_ = nullptr;
    std::vector<uint8_t> buffer_;
    // send() may see the TAP vanish on a vCPU thread; it only records that here, and the I/O
    // thread tells the sink, so a NIC that sends under its own lock is never called back.
    std::atomic<bool> link_up_{false};
    std::atomic<bool> detached_{false};
    bool reported_link_up_ = true;  // what sink_ was last told (or assumes)
    BackendCounters counters_;
    // Drops by cause (each also in counters_' totals); bumped on the sending or receiving thread.
    struct Causes {
        std::atomic<uint64_t> tx_link_down{0};
        std::atomic<uint64_t> tx_host_busy{0};
        std::atomic<uint64_t> tx_detached{0};
        std::atomic<uint64_t> tx_errors{0};
        std::atomic<uint64_t> rx_runts{0};
        std::atomic<uint64_t> rx_no_sink{0};
    };
    Causes causes_;
};

}  // namespace hvmm
