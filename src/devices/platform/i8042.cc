#include "devices/platform/i8042.h"

#include <algorithm>

#include "base/log.h"

namespace hvmm {
namespace {

// Status register bits.
constexpr uint8_t kStatusOutputFull = 0x01;
constexpr uint8_t kStatusSystemFlag = 0x04;  // self-test passed
constexpr uint8_t kStatusLastWasCommand = 0x08;
constexpr uint8_t kStatusUnlocked = 0x10;

// Controller commands.
constexpr uint8_t kReadCommandByte = 0x20;
constexpr uint8_t kWriteCommandByte = 0x60;
constexpr uint8_t kSelfTest = 0xAA;
constexpr uint8_t kInterfaceTest = 0xAB;
constexpr uint8_t kDisableKeyboard = 0xAD;
constexpr uint8_t kEnableKeyboard = 0xAE;
constexpr uint8_t kWriteOutputPort = 0xD1;
constexpr uint8_t kPulseResetLine = 0xFE;

constexpr uint8_t kSelfTestPassed = 0x55;

}  // namespace

void I8042::read(const BusAccess& access, std::span<uint8_t> data) {
    std::lock_guard lock(mutex_);
    std::fill(data.begin(), data.end(), 0);
    if (access.address == kCommandPort) {
        data[0] = kStatusSystemFlag | kStatusUnlocked | (output_ ? kStatusOutputFull : 0) |
                  (pending_command_ ? kStatusLastWasCommand : 0);
        return;
    }
    data[0] = output_.value_or(0);
    output_.reset();
}

void I8042::write(const BusAccess& access, std::span<const uint8_t> data) {
    bool reset = false;
    {
        std::lock_guard lock(mutex_);
        const uint8_t value = data[0];
        if (access.address == kDataPort) {
            if (pending_command_ == kWriteCommandByte) {
                command_byte_ = value;
            } else if (pending_command_ == kWriteOutputPort) {
                // Output port bit 0 low holds the CPU in reset.
                reset = (value & 0x01) == 0;
            }
            // Otherwise a byte for the (absent) keyboard: ignored.
            pending_command_ = 0;
        } else {
            pending_command_ = 0;
            switch (value) {
                case kReadCommandByte:
                    output_ = command_byte_;
                    break;
                case kWriteCommandByte:
                case kWriteOutputPort:
                    pending_command_ = value;
                    break;
                case kSelfTest:
                    output_ = kSelfTestPassed;
                    break;
                case kInterfaceTest:
                    output_ = 0x00;  // no error
                    break;
                case kDisableKeyboard:
                case kEnableKeyboard:
                    break;
                case kPulseResetLine:
                    reset = true;
                    break;
                default: {
                    static log::RateLimitedWarning warning;
                    warning("i8042: command {:#04x} not implemented, ignored", value);
                    break;
                }
            }
        }
    }
    if (reset) {
        power_.reset_requested();
    }
}

}  // namespace hvmm
