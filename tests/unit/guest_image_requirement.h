// Tests that read the real Debian kernel from the default guest image. scripts/test.sh builds the
// image before the suite and sets HVMM_REQUIRE_GUEST_IMAGE=1, so there a missing image fails the
// test; a developer running the unit tests by hand without the image sees them skipped, not passed.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>

#define HVMM_GUEST_IMAGE_MISSING(message)                     \
    do {                                                      \
        if (std::getenv("HVMM_REQUIRE_GUEST_IMAGE") != nullptr) { \
            FAIL() << message;                                \
        }                                                     \
        GTEST_SKIP() << message;                              \
    } while (0)
