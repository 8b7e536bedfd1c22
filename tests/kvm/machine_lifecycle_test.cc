// The whole Machine on this host's /dev/kvm: a synthetic bzImage whose 64-bit entry is a tiny
// program goes through the real boot path, in-kernel irqchip, vCPU thread, platform devices and
// lifecycle, and each way of ending a run gives the contract's outcome (docs/CONTRACTS.md).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "boot/synthetic_bzimage.h"
#include "vmm/machine.h"

namespace hvmm {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr uint64_t kEntryAddress = 0x100000 + 0x200;

class TempFile {
  public:
    TempFile() {
        char name[] = "/tmp/hvmm-machine-test-XXXXXX";
        const int fd = ::mkstemp(name);
        EXPECT_GE(fd, 0);
        ::close(fd);
        path_ = name;
    }
    ~TempFile() { ::unlink(path_.c_str()); }
    const std::string& path() const { return path_; }
    std::string contents() const {
        std::ifstream in(path_, std::ios::binary);
        std::stringstream all;
        all << in.rdbuf();
        return all.str();
    }

  private:
    std::string path_;
};

struct RunResult {
    RunOutcome outcome;
    std::string console;
};

// Boots program (its first byte at the 64-bit entry) and runs it to the end.
RunResult run_program(const Bytes& program, std::function<void(Machine&)> during_run = {}) {
    Bytes payload(0x200, 0x90);
    payload.insert(payload.end(), program.begin(), program.end());
    TempFile kernel, console;
    {
        const Bytes image = boot::make_synthetic_bzimage(payload);
        std::ofstream out(kernel.path(), std::ios::binary);
        out.write(reinterpret_cast<const char*>(image.data()),
                  static_cast<std::streamsize>(image.size()));
    }
    const int console_fd = ::open(console.path().c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    EXPECT_GE(console_fd, 0);

    MachineConfig config;
    config.memory_bytes = 64ull << 20;
    config.kernel_path = kernel.path();
    config.cmdline = "console=ttyS0";
    config.console_input = false;
    config.console_fd = console_fd;
    RunResult result{{StopReason::kError, -1, "not run"}, ""};
    {
        auto machine = Machine::create(config);
        EXPECT_TRUE(machine) << (machine ? "" : machine.error().message);
        if (machine) {
            std::thread helper;
            if (during_run) {
                helper = std::thread([&] { during_run(**machine); });
            }
            auto outcome = (*machine)->run();
            if (helper.joinable())
                helper.join();
            EXPECT_TRUE(outcome) << (outcome ? "" : outcome.error().message);
            if (outcome)
                result.outcome = *outcome;
        }
    }
    ::close(console_fd);
    result.console = console.contents();
    return result;
}

void append_le(Bytes& code, uint64_t value, int size) {
    for (int i = 0; i < size; ++i) code.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

Bytes out_byte(uint16_t port, uint8_t value) {
    Bytes code = {0xB0, value, 0x66, 0xBA};  // mov al, value; mov dx, port
    append_le(code, port, 2);
    code.push_back(0xEE);  // out dx, al
    return code;
}

// rep outsb of text to port; text is placed right after the code.
Bytes print(uint16_t port, std::string_view text, uint64_t code_address, Bytes tail) {
    Bytes code = {0x48, 0xBE};  // mov rsi, imm64 (patched below)
    const size_t rsi_immediate = code.size();
    append_le(code, 0, 8);
    code.insert(code.end(), {0x48, 0xC7, 0xC1});  // mov rcx, imm32
    append_le(code, text.size(), 4);
    code.insert(code.end(), {0x66, 0xBA});
    append_le(code, port, 2);
    code.insert(code.end(), {0xF3, 0x6E});  // rep outsb
    code.insert(code.end(), tail.begin(), tail.end());
    const uint64_t text_address = code_address + code.size();
    for (int i = 0; i < 8; ++i)
        code[rsi_immediate + i] = static_cast<uint8_t>(text_address >> (8 * i));
    code.insert(code.end(), text.begin(), text.end());
    return code;
}

const Bytes kSpin = {0xEB, 0xFE};  // jmp $

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes all;
    for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
    return all;
}

TEST(MachineLifecycle, AcpiPowerOffEndsTheRunWithTheGuestStatus) {
    const auto result = run_program(concat({out_byte(0x602, 7), out_byte(0x600, 0x34), kSpin}));
    EXPECT_EQ(result.outcome.reason, StopReason::kPowerOff);
    EXPECT_EQ(result.outcome.exit_status, 7);
}

TEST(MachineLifecycle, PowerOffWithoutAGuestStatusIsZero) {
    const auto result = run_program(concat({out_byte(0x600, 0x34), kSpin}));
    EXPECT_EQ(result.outcome.reason, StopReason::kPowerOff);
    EXPECT_EQ(result.outcome.exit_status, 0);
}

TEST(MachineLifecycle, I8042ResetIsAReboot) {
    const auto result = run_program(concat({out_byte(0x64, 0xFE), kSpin}));
    EXPECT_EQ(result.outcome.reason, StopReason::kReboot);
    EXPECT_EQ(result.outcome.exit_status, 0);
    EXPECT_EQ(result.outcome.message, "guest rebooted");
}

TEST(MachineLifecycle, ConsoleOutputReachesTheConsoleFd) {
    const auto result = run_program(print(0x3F8, "hello from the guest\n", kEntryAddress,
                                          concat({out_byte(0x600, 0x34), kSpin})));
    EXPECT_EQ(result.outcome.reason, StopReason::kPowerOff);
    EXPECT_EQ(result.console, "hello from the guest\n");
}

TEST(MachineLifecycle, ResetAfterAKernelPanicOnTheConsoleIsStatus120) {
    const auto result = run_program(print(0x3F8, "Kernel panic - not syncing: test\n",
                                          kEntryAddress, concat({out_byte(0x64, 0xFE), kSpin})));
    EXPECT_EQ(result.outcome.reason, StopReason::kPanicReset);
    EXPECT_EQ(result.outcome.exit_status, 120);
}

TEST(MachineLifecycle, TripleFaultIsStatus121) {
    const auto result = run_program({0x0F, 0x0B});  // ud2 with no usable IDT
    EXPECT_EQ(result.outcome.reason, StopReason::kTripleFault);
    EXPECT_EQ(result.outcome.exit_status, 121);
}

TEST(MachineLifecycle, AStopRequestKicksASpinningVcpuAndJoinsIt) {
    const auto result = run_program(kSpin, [](Machine& machine) {
        machine.request_stop({StopReason::kSignal, 143, "terminated by SIGTERM"});
    });
    EXPECT_EQ(result.outcome.reason, StopReason::kSignal);
    EXPECT_EQ(result.outcome.exit_status, 143);
}

TEST(MachineLifecycle, SigtermEndsTheRunWithStatus143) {
    const auto result = run_program(kSpin, [](Machine&) { ::kill(::getpid(), SIGTERM); });
    EXPECT_EQ(result.outcome.reason, StopReason::kSignal);
    EXPECT_EQ(result.outcome.exit_status, 143);
}

}  // namespace
}  // namespace hvmm
