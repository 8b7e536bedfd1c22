// The counters every backend keeps. The vCPU thread sends while the I/O thread receives and
// anyone may read the stats, so each counter is a relaxed atomic.
#pragma once

#include <atomic>
#include <cstdint>

#include "net/net_backend.h"

namespace hvmm {

class BackendCounters {
  public:
    void count_tx(uint64_t bytes) {
        tx_frames_.fetch_add(1, std::memory_order_relaxed);
        tx_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    }
    void count_tx_dropped() { tx_dropped_.fetch_add(1, std::memory_order_relaxed); }
    void count_rx(uint64_t bytes) {
        rx_frames_.fetch_add(1, std::memory_order_relaxed);
        rx_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    }
    void count_rx_dropped() { rx_dropped_.fetch_add(1, std::memory_order_relaxed); }

    NetBackendStats snapshot() const {
        return NetBackendStats{.tx_frames = tx_frames_.load(std::memory_order_relaxed),
                               .tx_bytes = tx_bytes_.load(std::memory_order_relaxed),
                               .tx_dropped = tx_dropped_.load(std::memory_order_relaxed),
                               .rx_frames = rx_frames_.load(std::memory_order_relaxed),
                               .rx_bytes = rx_bytes_.load(std::memory_order_relaxed),
                               .rx_dropped = rx_dropped_.load(std::memory_order_relaxed)};
    }

  private:
    std::atomic<uint64_t> tx_frames_{0};
    std::atomic<uint64_t> tx_bytes_{0};
    std::atomic<uint64_t> tx_dropped_{0};
    std::atomic<uint64_t> rx_frames_{0};
    std::atomic<uint64_t> rx_bytes_{0};
    std::atomic<uint64_t> rx_dropped_{0};
};

}  // namespace hvmm
