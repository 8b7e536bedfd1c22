// Tiny 64-bit programs run on this host's /dev/kvm, through the real Vm, Vcpu and Bus code.
#include <gtest/gtest.h>

#include <variant>
#include <vector>

#include "long_mode_guest.h"
#include "recording_device.h"

namespace hvmm::test {
namespace {

using Bytes = std::vector<uint8_t>;

// Appends a little-endian immediate.
void append_le(Bytes& code, uint64_t value, int size) {
    for (int i = 0; i < size; ++i) code.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

Bytes mov_dx(uint16_t port) {
    Bytes code = {0x66, 0xBA};  // mov dx, imm16
    append_le(code, port, 2);
    return code;
}

Bytes mov_rax(uint64_t value) {
    Bytes code = {0x48, 0xB8};  // mov rax, imm64
    append_le(code, value, 8);
    return code;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes all;
    for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
    return all;
}

const Bytes kHlt = {0xF4};

std::unique_ptr<LongModeGuest> make_guest(const Bytes& program) {
    auto guest = LongModeGuest::create(program);
    EXPECT_TRUE(guest) << (guest ? "" : guest.error().message);
    return guest ? std::move(*guest) : nullptr;
}

void expect_halted(Result<kvm::VcpuExit> exit) {
    ASSERT_TRUE(exit) << exit.error().message;
    EXPECT_TRUE(std::holds_alternative<kvm::exit::Hlt>(*exit)) << "exit variant " << exit->index();
}

TEST(KvmGuest, HltReturnsAHltExit) {
    auto guest = make_guest(kHlt);
    ASSERT_TRUE(guest);
    expect_halted(guest->run_until_stop());
}

TEST(KvmGuest, OutOfEachWidthReachesTheDeviceAtItsOffsetWithItsData) {
    RecordingDevice device;
    // out 0x12, al; out dx, ax; out dx, eax, to a device mapped at 0x10-0x1F.
    const Bytes program = concat({
        {0xB0, 0x42, 0xE6, 0x12},  // mov al, 0x42; out 0x12, al
        mov_dx(0x14),
        {0x66, 0xB8, 0xCD, 0xAB, 0x66, 0xEF},  // mov ax, 0xABCD; out dx, ax
        mov_dx(0x18),
        {0xB8, 0x78, 0x56, 0x34, 0x12, 0xEF},  // mov eax, 0x12345678; out dx, eax
        kHlt,
    });
    auto guest = make_guest(program);
    ASSERT_TRUE(guest);
    ASSERT_TRUE(guest->io_bus.insert(device, 0x10, 0x10));
    expect_halted(guest->run_until_stop());

    const std::vector<RecordedAccess> expected = {
        {true, 0x12, 0x2, {0x42}},
        {true, 0x14, 0x4, {0xCD, 0xAB}},
        {true, 0x18, 0x8, {0x78, 0x56, 0x34, 0x12}},
    };
    EXPECT_EQ(device.accesses(), expected);
    EXPECT_EQ(guest->stats.exits(stats::ExitKind::kIoOut).count, 3u);
    EXPECT_EQ(guest->stats.by_device().at("recorder").count, 3u);
}

TEST(KvmGuest, InOfEachWidthDeliversTheDeviceDataToTheGuest) {
    RecordingDevice byte_device("byte"), word_device("word"), dword_device("dword");
    byte_device.read_value = {0x5A};
    word_device.read_value = {0x34, 0x12};
    dword_device.read_value = {0xEF, 0xBE, 0xAD, 0xDE};
    const Bytes program = concat({
        mov_dx(0x20),
        {0xEC},        // in al, dx
        {0x88, 0xC3},  // mov bl, al
        mov_dx(0x30),
        {0x66, 0xED},        // in ax, dx
        {0x66, 0x89, 0xC1},  // mov cx, ax
        mov_dx(0x40),
        {0xED},  // in eax, dx
        kHlt,
    });
    auto guest = make_guest(program);
    ASSERT_TRUE(guest);
    ASSERT_TRUE(guest->io_bus.insert(byte_device, 0x20, 1));
    ASSERT_TRUE(guest->io_bus.insert(word_device, 0x30, 2));
    ASSERT_TRUE(guest->io_bus.insert(dword_device, 0x40, 4));
    expect_halted(guest->run_until_stop());

    auto regs = guest->vcpu().get_regs();
    ASSERT_TRUE(regs);
    EXPECT_EQ(regs->rbx & 0xFF, 0x5Au);
    EXPECT_EQ(regs->rcx & 0xFFFF, 0x1234u);
    EXPECT_EQ(regs->rax & 0xFFFF'FFFF, 0xDEADBEEFu);
    EXPECT_EQ(guest->stats.exits(stats::ExitKind::kIoIn).count, 3u);
}

TEST(KvmGuest, InFromAnUnmappedPortReadsAllOnes) {
    const Bytes program = concat({mov_dx(0x2F0), {0xED}, kHlt});  // in eax, dx
    auto guest = make_guest(program);
    ASSERT_TRUE(guest);
    expect_halted(guest->run_until_stop());
    auto regs = guest->vcpu().get_regs();
    ASSERT_TRUE(regs);
    EXPECT_EQ(regs->rax & 0xFFFF'FFFF, 0xFFFF'FFFFu);
    EXPECT_EQ(guest->io_bus.unmapped_accesses(), 1u);
}

TEST(KvmGuest, RepOutsbDeliversEachByteInOrder) {
    RecordingDevice device;
    const Bytes program = concat({
        {0x48, 0xBE},
        [] {
            Bytes b;
            append_le(b, LongModeGuest::kDataAddress, 8);
            return b;
        }(),
        {0x48, 0xC7, 0xC1, 0x03, 0x00, 0x00, 0x00},  // mov rcx, 3
        mov_dx(0x60),
        {0xF3, 0x6E},  // rep outsb
        kHlt,
    });
    auto guest = make_guest(program);
    ASSERT_TRUE(guest);
    const Bytes text = {'a', 'b', 'c'};
    ASSERT_TRUE(guest->memory().write(GuestAddress(LongModeGuest::kDataAddress), text));
    ASSERT_TRUE(guest->io_bus.insert(device, 0x60, 1));
    expect_halted(guest->run_until_stop());

    Bytes received;
    for (const auto& access : device.accesses()) {
        ASSERT_TRUE(access.is_write);
        ASSERT_EQ(access.data.size(), 1u);
        received.push_back(access.data[0]);
    }
    EXPECT_EQ(received, text);
}

TEST(KvmGuest, MmioWriteAndReadReachTheDeviceWithAddressWidthAndData) {
    RecordingDevice device("mmio-recorder");
    device.read_value = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    const uint64_t base = LongModeGuest::kMmioAddress;
    const Bytes program = concat({
        mov_rax(base),
        {0xC7, 0x40, 0x08, 0xEF, 0xBE, 0xAD, 0xDE},  // mov dword [rax+8], 0xDEADBEEF
        {0x66, 0xC7, 0x40, 0x10, 0x34, 0x12},        // mov word [rax+0x10], 0x1234
        {0x48, 0x8B, 0x58, 0x20},                    // mov rbx, [rax+0x20]
        kHlt,
    });
    auto guest = make_guest(program);
    ASSERT_TRUE(guest);
    ASSERT_TRUE(guest->mmio_bus.insert(device, base, 0x1000));
    expect_halted(guest->run_until_stop());

    const std::vector<RecordedAccess> expected = {
        {true, base + 0x08, 0x08, {0xEF, 0xBE, 0xAD, 0xDE}},
        {true, base + 0x10, 0x10, {0x34, 0x12}},
        {false, base + 0x20, 0x20, {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}},
    };
    EXPECT_EQ(device.accesses(), expected);
    auto regs = guest->vcpu().get_regs();
    ASSERT_TRUE(regs);
    EXPECT_EQ(regs->rbx, 0x8877665544332211u);
    EXPECT_EQ(guest->stats.exits(stats::ExitKind::kMmioWrite).count, 2u);
    EXPECT_EQ(guest->stats.exits(stats::ExitKind::kMmioRead).count, 1u);
}

TEST(KvmGuest, CoalescedPortWritesArriveInOrderWithoutAnExitEach) {
    RecordingDevice device;
    const Bytes program = concat({
        {0xB0, 0x01, 0xE6, 0x50},  // mov al, 1; out 0x50, al
        {0xB0, 0x02, 0xE6, 0x50},
        {0xB0, 0x03, 0xE6, 0x50},
        kHlt,
    });
    auto guest = make_guest(program);
    ASSERT_TRUE(guest);
    ASSERT_TRUE(guest->io_bus.insert(device, 0x50, 1));
    ASSERT_TRUE(guest->vm().register_coalesced_pio(0x50, 1));
    ASSERT_NE(guest->vcpu().coalesced_ring(), nullptr);
    expect_halted(guest->run_until_stop());

    const std::vector<RecordedAccess> expected = {
        {true, 0x50, 0, {0x01}}, {true, 0x50, 0, {0x02}}, {true, 0x50, 0, {0x03}}};
    EXPECT_EQ(device.accesses(), expected);
    EXPECT_EQ(guest->stats.exits(stats::ExitKind::kIoOut).count, 0u);
}

TEST(KvmGuest, AnExceptionWithNoIdtIsATripleFaultShutdown) {
    auto guest = make_guest({0x0F, 0x0B});  // ud2
    ASSERT_TRUE(guest);
    auto exit = guest->run_until_stop();
    ASSERT_TRUE(exit) << exit.error().message;
    EXPECT_TRUE(std::holds_alternative<kvm::exit::Shutdown>(*exit))
        << "exit variant " << exit->index();
}

}  // namespace
}  // namespace hvmm::test
