// A cursor over untrusted bytes whose every read is bounds-checked (passt's packet.c idea):
// a read that would run past the end yields nothing and leaves the reader failed, so a parser
// can read a whole header and check once. Pure; any thread; the bytes are borrowed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace hvmm::net {

class ByteReader {
  public:
    explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

    size_t position() const { return position_; }
    size_t remaining() const { return failed_ ? 0 : bytes_.size() - position_; }
    // True once any read or skip ran past the end; it stays true.
    bool failed() const { return failed_; }

    std::optional<std::span<const uint8_t>> bytes(size_t n) {
        if (failed_ || n > bytes_.size() - position_) {
            failed_ = true;
            return std::nullopt;
        }
        const auto out = bytes_.subspan(position_, n);
        position_ += n;
        return out;
    }
    template <size_t N>
    std::optional<std::span<const uint8_t, N>> fixed() {
        const auto out = bytes(N);
        if (!out)
            return std::nullopt;
        return std::span<const uint8_t, N>(out->data(), N);
    }
    std::optional<uint8_t> u8() {
        const auto b = bytes(1);
        if (!b)
            return std::nullopt;
        return (*b)[0];
    }
    std::optional<uint16_t> be16() {
        const auto b = bytes(2);
        if (!b)
            return std::nullopt;
        return static_cast<uint16_t>((*b)[0] << 8 | (*b)[1]);
    }
    std::optional<uint32_t> be32() {
        const auto b = bytes(4);
        if (!b)
            return std::nullopt;
        return uint32_t{(*b)[0]} << 24 | uint32_t{(*b)[1]} << 16 | uint32_t{(*b)[2]} << 8 | (*b)[3];
    }
    bool skip(size_t n) { return bytes(n).has_value(); }

  private:
    std::span<const uint8_t> bytes_;
    size_t position_ = 0;
    bool failed_ = false;
};

}  // namespace hvmm::net
