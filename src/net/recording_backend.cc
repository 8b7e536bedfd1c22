#include "net/recording_backend.h"

#include <ctime>
#include <vector>

#include "base/log.h"

namespace hvmm {

RecordingBackend::RecordingBackend(std::unique_ptr<NetBackend> inner, PcapWriter writer)
    : inner_(std::move(inner)), writer_(std::move(writer)) {}

void RecordingBackend::send(std::span<const iovec> frame) {
    record(frame);
    inner_->send(frame);
}

void RecordingBackend::set_sink(FrameSink* sink) {
    sink_ = sink;
    // Only stand in as the inner sink while there is a real one, so a backend without a NIC
    // behaves exactly as it would undecorated.
    inner_->set_sink(sink != nullptr ? static_cast<FrameSink*>(this) : nullptr);
}

void RecordingBackend::receive(std::span<const uint8_t> frame) {
    const iovec one{const_cast<uint8_t*>(frame.data()), frame.size()};
    record(std::span<const iovec>(&one, 1));
    if (sink_ != nullptr) {
        sink_->receive(frame);
    }
}

void RecordingBackend::link_changed(bool up) {
    if (sink_ != nullptr) {
        sink_->link_changed(up);
    }
}

void RecordingBackend::record(std::span<const iovec> frame) {
    // A vnet header (the inner backend speaks virtio-net's) is not part of the Ethernet frame
    // the capture shows: skip its bytes, whichever iovecs they span.
    std::vector<iovec> trimmed;
    if (size_t skip = inner_->vnet_header_size(); skip != 0) {
        for (const iovec& part : frame) {
            if (skip >= part.iov_len) {
                skip -= part.iov_len;
                continue;
            }
            trimmed.push_back({static_cast<uint8_t*>(part.iov_base) + skip, part.iov_len - skip});
            skip = 0;
        }
        frame = trimmed;
    }
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    std::lock_guard lock(writer_mutex_);
    if (writer_failed_) {
        return;
    }
    if (auto written = writer_.record(frame, now); !written) {
        // A full disk must not stop the network: stop recording and say so once.
        writer_failed_ = true;
        log::warn("{}; packet capture stopped", written.error().message);
    }
}

}  // namespace hvmm
