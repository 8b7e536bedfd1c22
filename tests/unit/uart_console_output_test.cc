#include "devices/serial/console_output.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace hvmm {
namespace {

std::string read_all(int fd) {
    std::string text;
    char buffer[256];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof(buffer))) > 0)
        text.append(buffer, static_cast<size_t>(got));
    return text;
}

std::span<const uint8_t> bytes(std::string_view text) {
    return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

TEST(UartConsoleOutput, FlushWritesEverythingInOrder) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    {
        ConsoleOutput console(pipe_fds[1]);
        console.write(bytes("partial "));
        console.write(bytes("line\nnext"));
        console.flush();
        EXPECT_EQ(console.dropped_bytes(), 0u);
    }
    ::close(pipe_fds[1]);
    EXPECT_EQ(read_all(pipe_fds[0]), "partial line\nnext");
    ::close(pipe_fds[0]);
}

TEST(UartConsoleOutput, BytesBeyondCapacityAreDroppedAndCounted) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    std::string written;
    {
        // No line end and below the eager-wake size: nothing wakes the writer until flush, so
        // the buffer fills deterministically.
        ConsoleOutput console(pipe_fds[1], 8);
        console.write(bytes("0123456789"));
        EXPECT_EQ(console.dropped_bytes(), 2u);
        console.flush();
    }
    ::close(pipe_fds[1]);
    EXPECT_EQ(read_all(pipe_fds[0]), "01234567");
    ::close(pipe_fds[0]);
}

TEST(UartConsoleOutput, APartialLineIsWrittenWithoutAFlushOrALineEnd) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    {
        ConsoleOutput console(pipe_fds[1]);
        console.write(bytes("login: "));  // a prompt: no line end will follow
        // The writer waits kPartialLineDelay for the line to end, then writes it anyway. The
        // generous bound only keeps a broken writer from hanging the suite.
        pollfd entry{pipe_fds[0], POLLIN, 0};
        ASSERT_EQ(::poll(&entry, 1, 10'000), 1) << "the prompt never reached the fd";
        char buffer[16] = {};
        EXPECT_EQ(::read(pipe_fds[0], buffer, sizeof(buffer)), 7);
        EXPECT_EQ(std::string(buffer), "login: ");
    }
    ::close(pipe_fds[1]);
    ::close(pipe_fds[0]);
}

TEST(UartConsoleOutput, DestructionWritesWhatIsBuffered) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    {
        ConsoleOutput console(pipe_fds[1]);
        console.write(bytes("last words"));
    }
    ::close(pipe_fds[1]);
    EXPECT_EQ(read_all(pipe_fds[0]), "last words");
    ::close(pipe_fds[0]);
}

}  // namespace
}  // namespace hvmm

namespace hvmm {
namespace {

TEST(UartConsoleOutput, AClosedPipeCostsTheOutputNotTheWriterAndIsCounted) {
    // `hvmm run | head`: the reader goes away; writes fail with EPIPE (SIGPIPE ignored, as
    // `hvmm run` does), the writer drops what follows and counts it, flush() still returns.
    ::signal(SIGPIPE, SIG_IGN);
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    ::close(pipe_fds[0]);
    ConsoleOutput console(pipe_fds[1]);
    console.write(bytes("first line\n"));
    console.flush();
    console.write(bytes("second line\n"));
    console.flush();
    console.write(bytes("third\n"));
    console.flush();
    // Every byte after the reader left: none written, each counted once.
    EXPECT_EQ(console.dropped_bytes(), std::string_view("first line\nsecond line\nthird\n").size());
    ::close(pipe_fds[1]);
}

TEST(UartConsoleOutput, AWriterStartedLaterWritesWhatWasBufferedAndRunsItsStartHook) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    bool hook_ran = false;
    {
        ConsoleOutput console(pipe_fds[1], ConsoleOutput::kDefaultCapacity,
                              ConsoleOutput::WriterStart::kLater);
        console.write(bytes("before start\n"));
        console.start_writer([&hook_ran] { hook_ran = true; });
        console.write(bytes("after\n"));
        console.flush();
    }
    ::close(pipe_fds[1]);
    EXPECT_TRUE(hook_ran);
    EXPECT_EQ(read_all(pipe_fds[0]), "before start\nafter\n");
    ::close(pipe_fds[0]);
}

TEST(UartConsoleOutput, AWriterNeverStartedStillWritesOnFlushAndDestruction) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    {
        ConsoleOutput console(pipe_fds[1], ConsoleOutput::kDefaultCapacity,
                              ConsoleOutput::WriterStart::kLater);
        console.write(bytes("flushed\n"));
        console.flush();
        console.write(bytes("at the end\n"));
    }
    ::close(pipe_fds[1]);
    EXPECT_EQ(read_all(pipe_fds[0]), "flushed\nat the end\n");
    ::close(pipe_fds[0]);
}

}  // namespace
}  // namespace hvmm
