#include "vmm/console_input.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace hvmm {
namespace {

class NullOutput final : public SerialOutput {
  public:
    void write(std::span<const uint8_t>) override {}
};
class NullIrq final : public IrqLine {
  public:
    void set_level(bool) override {}
};

class ConsoleInputTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(::pipe2(pipe_fds_, O_CLOEXEC | O_NONBLOCK), 0);
        auto created = EventLoop::create();
        ASSERT_TRUE(created);
        loop_ = std::move(*created);
        // FIFO on: 16 bytes of room, enough for every test here.
        const uint8_t fifo_on = 0x01;
        uart_.write(BusAccess{0x3FA, 2, 0}, std::span(&fifo_on, 1));
    }
    void TearDown() override {
        input_.reset();
        ::close(pipe_fds_[0]);
        ::close(pipe_fds_[1]);
    }
    void make_input(bool escape_enabled) {
        auto created =
            ConsoleInput::create(uart_, *loop_, pipe_fds_[0], escape_enabled, [this] { ++quits_; });
        ASSERT_TRUE(created);
        input_ = std::move(*created);
    }
    void type(std::string_view text) {
        input_->handle_typed(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    }
    std::string guest_received() {
        std::string text;
        uint8_t lsr = 0;
        while (uart_.read(BusAccess{0x3FD, 5, 0}, std::span(&lsr, 1)), lsr & 0x01) {
            uint8_t byte = 0;
            uart_.read(BusAccess{0x3F8, 0, 0}, std::span(&byte, 1));
            text += static_cast<char>(byte);
        }
        return text;
    }

    int pipe_fds_[2] = {-1, -1};
    NullOutput output_;
    NullIrq irq_;
    Uart16550 uart_{output_, irq_};
    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<ConsoleInput> input_;
    int quits_ = 0;
};

TEST_F(ConsoleInputTest, CtrlAxQuitsAndWhatCameBeforeReachesTheGuest) {
    make_input(true);
    type("ab\x01xcd");
    EXPECT_EQ(quits_, 1);
    EXPECT_EQ(guest_received(), "ab");
}

TEST_F(ConsoleInputTest, CtrlACtrlASendsOneCtrlA) {
    make_input(true);
    type("\x01\x01z");
    EXPECT_EQ(quits_, 0);
    EXPECT_EQ(guest_received(), "\x01z");
}

TEST_F(ConsoleInputTest, WithoutEscapesCtrlAIsOrdinaryInput) {
    make_input(false);
    type("\x01x");
    EXPECT_EQ(quits_, 0);
    EXPECT_EQ(guest_received(), "\x01x");
}

TEST_F(ConsoleInputTest, InputBeyondTheFifoWaitsUntilTheGuestReads) {
    make_input(false);
    type("0123456789abcdefGHIJ");  // 20 bytes, FIFO holds 16
    EXPECT_EQ(guest_received(), "0123456789abcdef");
    // The guest emptied the FIFO: the UART signalled room; the loop's handler feeds the rest.
    // A timer only ends the loop: the rx-space event is already pending and is dispatched in the
    // loop's first batch, before or with the timer's.
    auto timer = loop_->add_timer(std::chrono::milliseconds(1), [this] { loop_->stop(); });
    ASSERT_TRUE(timer);
    loop_->run();
    EXPECT_EQ(guest_received(), "GHIJ");
}

}  // namespace
}  // namespace hvmm
