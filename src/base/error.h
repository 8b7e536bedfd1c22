// Errors that cross a module boundary: a one-line message a user can act on.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fmt/core.h>

#include "base/expected.h"

namespace hvmm {

struct Error {
    std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

// Builds an Error from a fmt format string.
template <class... Args>
std::unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args) {
    return std::unexpected(Error{fmt::format(format, std::forward<Args>(args)...)});
}

// Builds an Error for a failed system call, naming what was attempted and errno's text.
template <class... Args>
std::unexpected<Error> fail_errno(fmt::format_string<Args...> format, Args&&... args) {
    const int saved = errno;
    return std::unexpected(Error{fmt::format(format, std::forward<Args>(args)...) + ": " +
                                 std::strerror(saved)});
}

}  // namespace hvmm

// Evaluates a Result; on error returns the error from the enclosing function, else yields the
// value. A GNU statement expression, which g++ and clang both support.
#define HVMM_TRY(expr)                                        \
    ({                                                        \
        auto hvmm_try_result_ = (expr);                       \
        if (!hvmm_try_result_) {                              \
            return std::unexpected(hvmm_try_result_.error()); \
        }                                                     \
        std::move(hvmm_try_result_).value();                  \
    })

// For Result<void>.
#define HVMM_TRY_VOID(expr)                                   \
    do {                                                      \
        auto hvmm_try_result_ = (expr);                       \
        if (!hvmm_try_result_) {                              \
            return std::unexpected(hvmm_try_result_.error()); \
        }                                                     \
    } while (0)
