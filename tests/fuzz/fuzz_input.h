// Reads a fuzz input as a script: bytes, little-endian words and byte runs, with zeros once the
// input is used up, so every input is a valid script and a target never checks lengths itself.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "base/log.h"

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

// An invariant of the code under test: when it does not hold, the target stops with the reason,
// which libFuzzer (and the replay driver) report as a crash with its input.
inline void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz target: %s\n", what);
        std::abort();
    }
}

// Guest and peer warnings are what a target provokes on purpose: only errors are printed. Once
// per process, on the first input.
inline void quiet_logs() {
    static const bool quiet = [] {
        log::set_level(log::Level::kError);
        return true;
    }();
    (void)quiet;
}

}  // namespace hvmm::fuzz
