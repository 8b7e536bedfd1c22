// Fuzz target for the 16550A UART: the input is a script of guest register accesses (any offset
// and width, DLAB and loopback included) and host input. The UART must never crash, and: the
// console receives exactly the bytes the guest wrote to THR outside loopback and DLAB, in order;
// host input is taken only up to the receive FIFO's room; the rx-space callback fires only after
// input was refused; the panic flag is set exactly when the console saw the panic marker.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "devices/serial/uart16550.h"
#include "fuzz_input.h"

namespace {

class RecordingOutput final : public hvmm::SerialOutput {
  public:
    void write(std::span<const uint8_t> bytes) override {
        written.append(bytes.begin(), bytes.end());
    }
    std::string written;
};

class NullIrq final : public hvmm::IrqLine {
  public:
    void set_level(bool) override {}
};

using hvmm::fuzz::check;

constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kMcrLoopback = 0x10;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    RecordingOutput output;
    NullIrq irq;
    hvmm::Uart16550 uart(output, irq);
    bool refused = false;
    uart.set_rx_space_callback([&] {
        check(refused, "rx-space callback without refused input");
        refused = false;
    });
    std::string expected_output;
    auto register_value = [&](uint8_t offset) {
        uint8_t value = 0;
        uart.read(
            {.address = uint64_t{hvmm::Uart16550::kCom1Base} + offset, .offset = offset, .vcpu = 0},
            std::span(&value, 1));
        return value;
    };

    hvmm::fuzz::FuzzInput in(data, size);
    for (int step = 0; step < 4096 && !in.empty(); ++step) {
        const uint8_t op = in.byte();
        // Offsets past the eight registers and widths up to 8 are what a guest can issue too.
        const uint8_t offset = (op >> 2) % 10;
        const size_t width = size_t{1} << ((op >> 6) & 3);
        const hvmm::BusAccess access{
            .address = uint64_t{hvmm::Uart16550::kCom1Base} + offset, .offset = offset, .vcpu = 0};
        switch (op & 3) {
            case 0: {
                std::vector<uint8_t> bytes(width);
                uart.read(access, bytes);
                break;
            }
            case 1: {
                const auto bytes = in.bytes(width);
                if (offset == 0 && !bytes.empty()) {
                    // The byte at offset 0 is written first, under the LCR and MCR of now.
                    const bool dlab = register_value(3) & kLcrDlab;
                    const bool loopback = register_value(4) & kMcrLoopback;
                    if (!dlab && !loopback) {
                        expected_output.push_back(static_cast<char>(bytes[0]));
                    }
                }
                uart.write(access, bytes);
                break;
            }
            case 2: {
                const auto bytes = in.bytes(in.byte() % 40);
                const size_t taken = uart.receive(bytes);
                check(taken <= bytes.size(), "took more input than offered");
                check(taken <= hvmm::Uart16550::kFifoSize, "took more input than a FIFO holds");
                if (taken < bytes.size()) {
                    refused = true;
                }
                break;
            }
            case 3: {
                // A plausible driver step: set 8N1 with FIFOs, or write a text byte to THR.
                const uint8_t value = in.byte();
                if (value & 0x80) {
                    const uint8_t fcr = 0x07;
                    uart.write({.address = hvmm::Uart16550::kCom1Base + 2u, .offset = 2, .vcpu = 0},
                               std::span(&fcr, 1));
                } else {
                    const bool dlab = register_value(3) & kLcrDlab;
                    const bool loopback = register_value(4) & kMcrLoopback;
                    if (!dlab && !loopback) {
                        expected_output.push_back(static_cast<char>(value));
                    }
                    uart.write({.address = hvmm::Uart16550::kCom1Base, .offset = 0, .vcpu = 0},
                               std::span(&value, 1));
                }
                break;
            }
        }
        check(output.written == expected_output, "console bytes differ from THR writes");
        check(uart.bytes_transmitted() == output.written.size(), "transmit count differs");
    }
    const bool panic_seen = output.written.find("Kernel panic - not syncing") != std::string::npos;
    check(uart.saw_kernel_panic() == panic_seen, "panic flag disagrees with the console");
    return 0;
}
