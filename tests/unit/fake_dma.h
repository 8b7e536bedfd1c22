// Guest RAM for device tests: a zeroed vector mapped at [base, base + size). Accesses outside
// it fail as DmaSpace promises, touching nothing, and are counted.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "base/checked.h"
#include "memory/dma.h"

namespace hvmm::testing {

class FakeDma final : public DmaSpace {
  public:
    explicit FakeDma(size_t size, uint64_t base = 0) : base_(base), bytes_(size) {}

    bool read(uint64_t address, std::span<uint8_t> out) override {
        if (!inside(address, out.size())) {
            ++refused;
            return false;
        }
        std::copy_n(bytes_.data() + (address - base_), out.size(), out.data());
        return true;
    }
    bool write(uint64_t address, std::span<const uint8_t> in) override {
        if (!inside(address, in.size())) {
            ++refused;
            return false;
        }
        std::copy(in.begin(), in.end(), bytes_.data() + (address - base_));
        return true;
    }

    // Test-side access; these abort the test binary on a bad address rather than fail.
    uint8_t* at(uint64_t address) { return bytes_.data() + (address - base_); }
    void put16(uint64_t address, uint16_t value) { std::memcpy(at(address), &value, 2); }
    void put32(uint64_t address, uint32_t value) { std::memcpy(at(address), &value, 4); }
    uint16_t get16(uint64_t address) {
        uint16_t v;
        std::memcpy(&v, at(address), 2);
        return v;
    }
    uint32_t get32(uint64_t address) {
        uint32_t v;
        std::memcpy(&v, at(address), 4);
        return v;
    }
    void put(uint64_t address, std::span<const uint8_t> data) {
        std::copy(data.begin(), data.end(), at(address));
    }
    std::vector<uint8_t> get(uint64_t address, size_t length) {
        return std::vector<uint8_t>(at(address), at(address) + length);
    }
    size_t size() const { return bytes_.size(); }
    std::vector<uint8_t>& bytes() { return bytes_; }

    uint64_t refused = 0;

  private:
    bool inside(uint64_t address, size_t length) const {
        return address >= base_ && range_within(address - base_, length, bytes_.size());
    }
    uint64_t base_;
    std::vector<uint8_t> bytes_;
};

}  // namespace hvmm::testing
