// Reads a fuzz input as a script: bytes, little-endian words and byte runs, with zeros once the
// input is used up, so every input is a valid script and a target never checks lengths itself.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

namespace hvmm::fuzz {

class FuzzInput {
  public:
    FuzzInput(const uint8_t* data, size_t size) : data_(data, size) {}
    bool empty() const { return pos_ >= data_.size(); }
    uint8_t byte() { return pos_ < data_.size() ? data_[pos_++] : 0; }
    uint16_t word() { return static_cast<uint16_t>(byte() | (byte() << 8)); }
    uint32_t dword() { return word() | (uint32_t{word()} << 16); }
    uint64_t qword() { return dword() | (uint64_t{dword()} << 32); }
    // Up to n bytes (fewer at the end of the input).
    std::span<const uint8_t> bytes(size_t n) {
        n = std::min(n, data_.size() - std::min(pos_, data_.size()));
        auto out = data_.subspan(pos_, n);
        pos_ += n;
        return out;
    }
    std::span<const uint8_t> rest() { return bytes(data_.size()); }

  private:
    std::span<const uint8_t> data_;
    size_t pos_ = 0;
};

}  // namespace hvmm::fuzz
