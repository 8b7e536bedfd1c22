#include "devices/serial/uart16550.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hvmm {
namespace {

class CapturedOutput final : public SerialOutput {
  public:
    void write(std::span<const uint8_t> bytes) override { text.append(bytes.begin(), bytes.end()); }
    std::string text;
};

class RecordedIrq final : public IrqLine {
  public:
    void set_level(bool asserted) override {
        if (asserted && !level)
            ++rising_edges;
        level = asserted;
    }
    bool level = false;
    int rising_edges = 0;
};

// Register offsets.
constexpr uint8_t kData = 0, kIer = 1, kIir = 2, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6,
                  kScr = 7;

class UartTest : public ::testing::Test {
  protected:
    uint8_t in(uint8_t offset) {
        uint8_t value = 0;
        uart.read(BusAccess{Uart16550::kCom1Base + offset, offset, 0}, std::span(&value, 1));
        return value;
    }
    void out(uint8_t offset, uint8_t value) {
        uart.write(BusAccess{Uart16550::kCom1Base + offset, offset, 0}, std::span(&value, 1));
    }
    size_t type(std::string_view text) {
        return uart.receive(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    }

    CapturedOutput output;
    RecordedIrq irq;
    Uart16550 uart{output, irq};
};

TEST_F(UartTest, ThrWritesGoToTheOutput) {
    out(kData, 'h');
    out(kData, 'i');
    EXPECT_EQ(output.text, "hi");
    EXPECT_EQ(uart.bytes_transmitted(), 2u);
}

TEST_F(UartTest, DlabSwitchesOffsetsZeroAndOneToTheDivisorLatch) {
    out(kLcr, 0x83);  // DLAB, 8N1
    out(kData, 0x01);
    out(kIer, 0x02);
    EXPECT_TRUE(output.text.empty());
    EXPECT_EQ(in(kData), 0x01);
    EXPECT_EQ(in(kIer), 0x02);
    out(kLcr, 0x03);
    EXPECT_EQ(in(kIer), 0x00);  // the real IER was never written
    EXPECT_EQ(in(kLcr), 0x03);
}

TEST_F(UartTest, LsrReportsTransmitterEmptyAndDataReady) {
    EXPECT_EQ(in(kLsr), 0x60);
    type("a");
    EXPECT_EQ(in(kLsr), 0x61);
    EXPECT_EQ(in(kData), 'a');
    EXPECT_EQ(in(kLsr), 0x60);
}

TEST_F(UartTest, IirReportsNoInterruptAndFifoBits) {
    EXPECT_EQ(in(kIir), 0x01);
    out(kFcr, 0x01);
    EXPECT_EQ(in(kIir), 0xC1);
}

TEST_F(UartTest, EnablingThreInterruptRaisesItAndReadingIirAcknowledgesIt) {
    out(kMcr, 0x08);  // OUT2 routes the interrupt
    out(kIer, 0x02);
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(in(kIir), 0x02);
    EXPECT_FALSE(irq.level);
    EXPECT_EQ(in(kIir), 0x01);
}

TEST_F(UartTest, EachThrWriteGivesAFreshEdgeWhileThreIsEnabled) {
    out(kMcr, 0x08);
    out(kIer, 0x02);
    const int before = irq.rising_edges;
    out(kData, 'x');
    out(kData, 'y');
    EXPECT_EQ(irq.rising_edges, before + 2);
}

TEST_F(UartTest, ReceivedDataOutranksThreInIir) {
    out(kMcr, 0x08);
    out(kIer, 0x03);
    type("z");
    EXPECT_EQ(in(kIir), 0x04);
    EXPECT_EQ(in(kData), 'z');
    EXPECT_EQ(in(kIir), 0x02);
}

TEST_F(UartTest, LineStatusOutranksReceivedData) {
    out(kMcr, 0x18);  // loopback so a write can overrun the one-byte receiver
    out(kIer, 0x05);
    out(kData, 'a');
    out(kData, 'b');  // overrun: FIFOs off, one byte of room
    EXPECT_EQ(in(kIir), 0x06);
    EXPECT_EQ(in(kLsr)&0x03, 0x03);
    EXPECT_EQ(in(kIir), 0x04);
}

TEST_F(UartTest, BelowTheFifoTriggerLevelReceivedDataIsACharacterTimeout) {
    out(kFcr, 0xC1);  // FIFO on, trigger at 14
    out(kIer, 0x01);
    type("abc");
    EXPECT_EQ(in(kIir), 0xCC);
}

TEST_F(UartTest, InterruptNeedsOut2) {
    out(kMcr, 0x00);
    out(kIer, 0x02);
    EXPECT_FALSE(irq.level);
    out(kMcr, 0x08);
    EXPECT_TRUE(irq.level);
}

TEST_F(UartTest, LoopbackReturnsTransmittedBytesAndMirrorsModemLines) {
    out(kMcr, 0x10 | 0x01 | 0x02);  // loopback, DTR, RTS
    out(kData, 'q');
    EXPECT_TRUE(output.text.empty());
    EXPECT_EQ(in(kData), 'q');
    EXPECT_EQ(in(kMsr)&0xF0, 0x30);  // CTS from RTS, DSR from DTR
    out(kMcr, 0x10 | 0x04 | 0x08);   // OUT1, OUT2
    EXPECT_EQ(in(kMsr)&0xF0, 0xC0);  // RI, DCD
}

TEST_F(UartTest, ModemStatusOutsideLoopbackShowsACarrier) {
    EXPECT_EQ(in(kMsr)&0xF0, 0xB0);
}

TEST_F(UartTest, ReceiveFifoHoldsSixteenBytesAndRefusesTheRest) {
    out(kFcr, 0x01);
    EXPECT_EQ(type("0123456789abcdefXYZ"), 16u);
    std::string got;
    while (in(kLsr)&0x01) got += static_cast<char>(in(kData));
    EXPECT_EQ(got, "0123456789abcdef");
}

TEST_F(UartTest, WithoutFifoTheReceiverHoldsOneByte) {
    EXPECT_EQ(type("ab"), 1u);
}

TEST_F(UartTest, EmptyingTheFifoAfterARefusalCallsTheRxSpaceCallback) {
    int calls = 0;
    uart.set_rx_space_callback([&] { ++calls; });
    EXPECT_EQ(type("ab"), 1u);
    EXPECT_EQ(calls, 0);
    in(kData);
    EXPECT_EQ(calls, 1);
}

TEST_F(UartTest, ScratchRegisterKeepsItsValue) {
    out(kScr, 0x5A);
    EXPECT_EQ(in(kScr), 0x5A);
}

TEST_F(UartTest, FcrClearEmptiesTheReceiveFifo) {
    out(kFcr, 0x01);
    type("abc");
    out(kFcr, 0x03);
    EXPECT_EQ(in(kLsr)&0x01, 0);
}

TEST_F(UartTest, PanicMarkerIsNoticedAcrossArbitraryPrefixes) {
    for (char c : std::string("KKernel panic - not syncin")) out(kData, static_cast<uint8_t>(c));
    EXPECT_FALSE(uart.saw_kernel_panic());
    out(kData, 'g');
    EXPECT_TRUE(uart.saw_kernel_panic());
}

TEST_F(UartTest, AnInterruptedPanicMarkerIsNotAPanic) {
    for (char c : std::string("Kernel panic - not_syncing")) out(kData, static_cast<uint8_t>(c));
    EXPECT_FALSE(uart.saw_kernel_panic());
}

}  // namespace
}  // namespace hvmm
