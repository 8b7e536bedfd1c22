// std::expected for every compiler hvmm is built with. g++ 12 has it in <expected>. Debian 12's
// clang 14 (the libFuzzer build, tests/fuzz) reads the same libstdc++ 12 headers, whose
// std::expected is hidden from it: it needs C++20's conditionally trivial destructors (P0848),
// which clang implements only from 16 on. For that case only, this header supplies a plain
// std::expected, std::unexpected and std::bad_expected_access with the members hvmm uses, so the
// fuzzed code is the code g++ builds, unchanged. Declaring them in namespace std is what a
// standard library would do; it is done only where the library declares none
// (__cpp_lib_expected undefined), so with g++ this header is exactly <expected>.
#pragma once

#include <expected>
#include <version>

#if !defined(__cpp_lib_expected)

#include <exception>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <utility>

namespace std {

template <class E>
class unexpected {
  public:
    template <class Err = E>
    requires(!is_same_v<remove_cvref_t<Err>, unexpected> &&
             !is_same_v<remove_cvref_t<Err>, in_place_t> &&
             is_constructible_v<E, Err>) constexpr explicit unexpected(Err&& error)
        : error_(std::forward<Err>(error)) {}

    template <class... Args>
    constexpr explicit unexpected(in_place_t, Args&&... args)
        : error_(std::forward<Args>(args)...) {}

    constexpr const E& error() const& noexcept { return error_; }
    constexpr E& error() & noexcept { return error_; }
    constexpr E&& error() && noexcept { return std::move(error_); }
    constexpr const E&& error() const&& noexcept { return std::move(error_); }

    template <class G>
    friend constexpr bool operator==(const unexpected& a, const unexpected<G>& b) {
        return a.error() == b.error();
    }

  private:
    E error_;
};

template <class E>
unexpected(E) -> unexpected<E>;

struct unexpect_t {
    explicit unexpect_t() = default;
};
inline constexpr unexpect_t unexpect{};

template <class E>
class bad_expected_access;

template <>
class bad_expected_access<void> : public exception {
  public:
    const char* what() const noexcept override {
        return "bad access to std::expected without value";
    }
};

template <class E>
class bad_expected_access : public bad_expected_access<void> {
  public:
    explicit bad_expected_access(E error) : error_(std::move(error)) {}
    const E& error() const& noexcept { return error_; }
    E& error() & noexcept { return error_; }

  private:
    E error_;
};

template <class T, class E>
class expected;

namespace expected_detail {
template <class T>
inline constexpr bool is_unexpected = false;
template <class T>
inline constexpr bool is_expected = false;
template <class T, class E>
inline constexpr bool is_expected<expected<T, E>> = true;
template <class E>
inline constexpr bool is_unexpected<unexpected<E>> = true;
}  // namespace expected_detail

template <class T, class E>
class expected {
  public:
    using value_type = T;
    using error_type = E;
    using unexpected_type = unexpected<E>;

    constexpr expected() requires is_default_constructible_v<T> : value_(), has_value_(true) {}

    constexpr expected(const expected& other) : has_value_(other.has_value_) {
        if (has_value_) {
            std::construct_at(std::addressof(value_), other.value_);
        } else {
            std::construct_at(std::addressof(error_), other.error_);
        }
    }

    constexpr expected(expected&& other) noexcept(
        is_nothrow_move_constructible_v<T>&& is_nothrow_move_constructible_v<E>)
        : has_value_(other.has_value_) {
        if (has_value_) {
            std::construct_at(std::addressof(value_), std::move(other.value_));
        } else {
            std::construct_at(std::addressof(error_), std::move(other.error_));
        }
    }

    template <class U = T>
    requires(!is_same_v<remove_cvref_t<U>, expected> && !is_same_v<remove_cvref_t<U>, in_place_t> &&
             !expected_detail::is_unexpected<remove_cvref_t<U>> &&
             !expected_detail::is_expected<remove_cvref_t<U>> &&
             is_constructible_v<T, U>) constexpr explicit(!is_convertible_v<U, T>)
        expected(U&& value)
        : value_(std::forward<U>(value)), has_value_(true) {}

    // From an expected of other types (a Result<unique_ptr<Derived>> returned as
    // Result<unique_ptr<Base>>).
    template <class U, class G>
    requires(!is_same_v<expected<U, G>, expected> && is_constructible_v<T, U> &&
             is_constructible_v<E, G>) constexpr explicit(!is_convertible_v<U, T> ||
                                                          !is_convertible_v<G, E>)
        expected(expected<U, G>&& other)
        : has_value_(other.has_value()) {
        if (has_value_) {
            std::construct_at(std::addressof(value_), *std::move(other));
        } else {
            std::construct_at(std::addressof(error_), std::move(other).error());
        }
    }

    template <class U, class G>
    requires(!is_same_v<expected<U, G>, expected> && is_constructible_v<T, const U&> &&
             is_constructible_v<E, const G&>) constexpr explicit(!is_convertible_v<const U&, T> ||
                                                                 !is_convertible_v<const G&, E>)
        expected(const expected<U, G>& other)
        : has_value_(other.has_value()) {
        if (has_value_) {
            std::construct_at(std::addressof(value_), *other);
        } else {
            std::construct_at(std::addressof(error_), other.error());
        }
    }

    template <class G>
    requires is_constructible_v<E, const G&>
    constexpr explicit(!is_convertible_v<const G&, E>) expected(const unexpected<G>& error)
        : error_(error.error()), has_value_(false) {}

    template <class G>
    requires is_constructible_v<E, G>
    constexpr explicit(!is_convertible_v<G, E>) expected(unexpected<G>&& error)
        : error_(std::move(error).error()), has_value_(false) {}

    template <class... Args>
    constexpr explicit expected(in_place_t, Args&&... args)
        : value_(std::forward<Args>(args)...), has_value_(true) {}

    template <class... Args>
    constexpr explicit expected(unexpect_t, Args&&... args)
        : error_(std::forward<Args>(args)...), has_value_(false) {}

    constexpr ~expected() { destroy(); }

    constexpr expected& operator=(const expected& other) {
        if (this != &other) {
            destroy();
            std::construct_at(this, other);
        }
        return *this;
    }

    constexpr expected& operator=(expected&& other) noexcept(
        is_nothrow_move_constructible_v<T>&& is_nothrow_move_constructible_v<E>) {
        if (this != &other) {
            destroy();
            std::construct_at(this, std::move(other));
        }
        return *this;
    }

    template <class U = T>
    requires(!is_same_v<remove_cvref_t<U>, expected> &&
             !expected_detail::is_unexpected<remove_cvref_t<U>> &&
             is_constructible_v<T, U>) constexpr expected&
    operator=(U&& value) {
        if (has_value_) {
            value_ = std::forward<U>(value);
        } else {
            destroy();
            std::construct_at(this, in_place, std::forward<U>(value));
        }
        return *this;
    }

    template <class G>
    constexpr expected& operator=(const unexpected<G>& error) {
        destroy();
        std::construct_at(this, unexpect, error.error());
        return *this;
    }

    template <class G>
    constexpr expected& operator=(unexpected<G>&& error) {
        destroy();
        std::construct_at(this, unexpect, std::move(error).error());
        return *this;
    }

    template <class... Args>
    constexpr T& emplace(Args&&... args) {
        destroy();
        std::construct_at(this, in_place, std::forward<Args>(args)...);
        return value_;
    }

    constexpr bool has_value() const noexcept { return has_value_; }
    constexpr explicit operator bool() const noexcept { return has_value_; }

    constexpr const T* operator->() const noexcept { return std::addressof(value_); }
    constexpr T* operator->() noexcept { return std::addressof(value_); }
    constexpr const T& operator*() const& noexcept { return value_; }
    constexpr T& operator*() & noexcept { return value_; }
    constexpr T&& operator*() && noexcept { return std::move(value_); }
    constexpr const T&& operator*() const&& noexcept { return std::move(value_); }

    constexpr const T& value() const& {
        check_value();
        return value_;
    }
    constexpr T& value() & {
        check_value();
        return value_;
    }
    constexpr T&& value() && {
        check_value();
        return std::move(value_);
    }
    constexpr const T&& value() const&& {
        check_value();
        return std::move(value_);
    }

    constexpr const E& error() const& noexcept { return error_; }
    constexpr E& error() & noexcept { return error_; }
    constexpr E&& error() && noexcept { return std::move(error_); }
    constexpr const E&& error() const&& noexcept { return std::move(error_); }

    template <class U>
    constexpr T value_or(U&& fallback) const& {
        return has_value_ ? value_ : static_cast<T>(std::forward<U>(fallback));
    }
    template <class U>
    constexpr T value_or(U&& fallback) && {
        return has_value_ ? std::move(value_) : static_cast<T>(std::forward<U>(fallback));
    }

    template <class T2, class E2>
    requires(!is_void_v<T2>) friend constexpr bool operator==(const expected& a,
                                                              const expected<T2, E2>& b) {
        if (a.has_value() != b.has_value()) {
            return false;
        }
        return a.has_value() ? *a == *b : a.error() == b.error();
    }

    template <class T2>
    requires(!expected_detail::is_unexpected<T2>) friend constexpr bool operator==(
        const expected& a, const T2& value) {
        return a.has_value() && *a == value;
    }

    template <class E2>
    friend constexpr bool operator==(const expected& a, const unexpected<E2>& error) {
        return !a.has_value() && a.error() == error.error();
    }

  private:
    constexpr void check_value() const {
        if (!has_value_) {
            throw bad_expected_access<E>(error_);
        }
    }

    constexpr void destroy() {
        if (has_value_) {
            std::destroy_at(std::addressof(value_));
        } else {
            std::destroy_at(std::addressof(error_));
        }
    }

    union {
        T value_;
        E error_;
    };
    bool has_value_;
};

template <class E>
class expected<void, E> {
  public:
    using value_type = void;
    using error_type = E;
    using unexpected_type = unexpected<E>;

    constexpr expected() noexcept : has_value_(true) {}

    constexpr expected(const expected& other) : has_value_(other.has_value_) {
        if (!has_value_) {
            std::construct_at(std::addressof(error_), other.error_);
        }
    }

    constexpr expected(expected&& other) noexcept(is_nothrow_move_constructible_v<E>)
        : has_value_(other.has_value_) {
        if (!has_value_) {
            std::construct_at(std::addressof(error_), std::move(other.error_));
        }
    }

    template <class G>
    requires is_constructible_v<E, const G&>
    constexpr explicit(!is_convertible_v<const G&, E>) expected(const unexpected<G>& error)
        : error_(error.error()), has_value_(false) {}

    template <class G>
    requires is_constructible_v<E, G>
    constexpr explicit(!is_convertible_v<G, E>) expected(unexpected<G>&& error)
        : error_(std::move(error).error()), has_value_(false) {}

    constexpr explicit expected(in_place_t) noexcept : has_value_(true) {}

    template <class... Args>
    constexpr explicit expected(unexpect_t, Args&&... args)
        : error_(std::forward<Args>(args)...), has_value_(false) {}

    constexpr ~expected() { destroy(); }

    constexpr expected& operator=(const expected& other) {
        if (this != &other) {
            destroy();
            std::construct_at(this, other);
        }
        return *this;
    }

    constexpr expected& operator=(expected&& other) noexcept(is_nothrow_move_constructible_v<E>) {
        if (this != &other) {
            destroy();
            std::construct_at(this, std::move(other));
        }
        return *this;
    }

    template <class G>
    constexpr expected& operator=(const unexpected<G>& error) {
        destroy();
        std::construct_at(this, unexpect, error.error());
        return *this;
    }

    template <class G>
    constexpr expected& operator=(unexpected<G>&& error) {
        destroy();
        std::construct_at(this, unexpect, std::move(error).error());
        return *this;
    }

    constexpr void emplace() noexcept {
        destroy();
        has_value_ = true;
    }

    constexpr bool has_value() const noexcept { return has_value_; }
    constexpr explicit operator bool() const noexcept { return has_value_; }
    constexpr void operator*() const noexcept {}

    constexpr void value() const& {
        if (!has_value_) {
            throw bad_expected_access<E>(error_);
        }
    }
    constexpr void value() && {
        if (!has_value_) {
            throw bad_expected_access<E>(std::move(error_));
        }
    }

    constexpr const E& error() const& noexcept { return error_; }
    constexpr E& error() & noexcept { return error_; }
    constexpr E&& error() && noexcept { return std::move(error_); }
    constexpr const E&& error() const&& noexcept { return std::move(error_); }

    template <class E2>
    friend constexpr bool operator==(const expected& a, const expected<void, E2>& b) {
        if (a.has_value() != b.has_value()) {
            return false;
        }
        return a.has_value() || a.error() == b.error();
    }

    template <class E2>
    friend constexpr bool operator==(const expected& a, const unexpected<E2>& error) {
        return !a.has_value() && a.error() == error.error();
    }

  private:
    constexpr void destroy() {
        if (!has_value_) {
            std::destroy_at(std::addressof(error_));
            has_value_ = true;
        }
    }

    union {
        E error_;
    };
    bool has_value_;
};

}  // namespace std

#endif  // !defined(__cpp_lib_expected)
