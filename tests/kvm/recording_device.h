// A BusDevice for tests: records every access and answers reads with a fixed pattern.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "bus/bus_device.h"

namespace hvmm::test {

struct RecordedAccess {
    bool is_write;
    uint64_t address;
    uint64_t offset;
    std::vector<uint8_t> data;
    bool operator==(const RecordedAccess&) const = default;
};

class RecordingDevice final : public BusDevice {
  public:
    explicit RecordingDevice(std::string name = "recorder") : name_(std::move(name)) {}

    // Reads return these bytes (the first data.size() of them; zero beyond).
    std::vector<uint8_t> read_value;

    void read(const BusAccess& access, std::span<uint8_t> data) override {
        for (size_t i = 0; i < data.size(); ++i) {
            data[i] = i < read_value.size() ? read_value[i] : 0;
        }
        std::lock_guard lock(mutex_);
        accesses_.push_back({false, access.address, access.offset, {data.begin(), data.end()}});
    }
    void write(const BusAccess& access, std::span<const uint8_t> data) override {
        std::lock_guard lock(mutex_);
        accesses_.push_back({true, access.address, access.offset, {data.begin(), data.end()}});
    }
    std::string_view name() const override { return name_; }

    std::vector<RecordedAccess> accesses() const {
        std::lock_guard lock(mutex_);
        return accesses_;
    }

  private:
    std::string name_;
    mutable std::mutex mutex_;
    std::vector<RecordedAccess> accesses_;
};

}  // namespace hvmm::test
