// KvmMsiRouter and the GSI routing table on this host's KVM: KVM accepts MSI routes beside the
// irqchip pins, an irqfd on an MSI route and KVM_SIGNAL_MSI raise the vector in the local APIC
// (seen in its IRR: the vCPU never runs, so nothing takes the interrupt away), and the PIC and
// IOAPIC pins still hear a PCI INTx irqfd after the table was replaced.
#include <gtest/gtest.h>

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <thread>

#include "base/event_fd.h"
#include "irq/kvm_msi_router.h"
#include "irq/msi_routes.h"
#include "kvm/kvm.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"

namespace hvmm {
namespace {

constexpr uint64_t kApicBase = 0xFEE0'0000;  // MSI address: destination APIC ID 0, physical
constexpr size_t kApicSpuriousVector = 0xF0;
constexpr size_t kApicIrr = 0x200;

pci::MsiMessage fixed_vector(uint8_t vector) {
    return {kApicBase, vector};  // data: fixed delivery, edge, this vector
}

// Polls until condition holds or a second passes: irqfd injection may go through a kernel
// work item.
bool eventually(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return condition();
}

class MsiRoutingKvmTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto opened = kvm::Kvm::open();
        ASSERT_TRUE(opened) << opened.error().message;
        kvm_.emplace(std::move(*opened));
        auto made = kvm::Vm::create(*kvm_);
        ASSERT_TRUE(made) << made.error().message;
        vm_.emplace(std::move(*made));
        if (vm_->check_extension(KVM_CAP_IRQ_ROUTING) <= 0 ||
            vm_->check_extension(KVM_CAP_SIGNAL_MSI) <= 0 ||
            vm_->check_extension(KVM_CAP_IRQFD) <= 0) {
            GTEST_SKIP() << "host capability missing: this KVM lacks KVM_CAP_IRQ_ROUTING, "
                            "KVM_CAP_SIGNAL_MSI or KVM_CAP_IRQFD";
        }
        auto vcpu = kvm::Vcpu::create(*vm_, 0);
        ASSERT_TRUE(vcpu) << vcpu.error().message;
        vcpu_ = std::move(*vcpu);
        // The APIC is hardware-enabled at reset; software-enable it (SVR bit 8) so it accepts
        // fixed interrupts.
        auto lapic = vcpu_->get_lapic();
        ASSERT_TRUE(lapic) << lapic.error().message;
        uint32_t svr;
        std::memcpy(&svr, lapic->regs + kApicSpuriousVector, sizeof(svr));
        svr |= 0x1FF;
        std::memcpy(lapic->regs + kApicSpuriousVector, &svr, sizeof(svr));
        ASSERT_TRUE(vcpu_->set_lapic(*lapic));
        auto router = KvmMsiRouter::create(*vm_);
        ASSERT_TRUE(router) << router.error().message;
        router_ = std::move(*router);
    }

    bool apic_requests(uint8_t vector) {
        auto lapic = vcpu_->get_lapic();
        EXPECT_TRUE(lapic) << lapic.error().message;
        if (!lapic)
            return false;
        uint32_t irr;
        std::memcpy(&irr, lapic->regs + kApicIrr + 0x10 * (vector / 32), sizeof(irr));
        return (irr >> (vector % 32)) & 1;
    }

    EventFd make_eventfd() {
        auto fd = EventFd::create();
        EXPECT_TRUE(fd) << fd.error().message;
        return std::move(*fd);
    }

    kvm_irqchip irqchip(uint32_t chip) {
        kvm_irqchip state{};
        state.chip_id = chip;
        EXPECT_EQ(::ioctl(vm_->fd(), KVM_GET_IRQCHIP, &state), 0) << std::strerror(errno);
        return state;
    }
    uint32_t ioapic_irr() { return irqchip(KVM_IRQCHIP_IOAPIC).chip.ioapic.irr; }
    uint32_t pic_irr(uint32_t chip) { return irqchip(chip).chip.pic.irr; }

    std::optional<kvm::Kvm> kvm_;
    std::optional<kvm::Vm> vm_;
    std::unique_ptr<kvm::Vcpu> vcpu_;
    std::unique_ptr<KvmMsiRouter> router_;
};

TEST_F(MsiRoutingKvmTest, KvmAcceptsMsiRoutesBesideTheIrqchipPins) {
    EventFd first = make_eventfd();
    EventFd second = make_eventfd();
    ASSERT_TRUE(router_->bind(first.fd(), fixed_vector(0x40)));
    ASSERT_TRUE(router_->bind(second.fd(), fixed_vector(0x41)));
    EXPECT_EQ(router_->bound_gsi(first.fd()), kIoapicPinCount);
    EXPECT_EQ(router_->bound_gsi(second.fd()), kIoapicPinCount + 1);
    EXPECT_EQ(router_->counters().routing_updates, 2u);
    EXPECT_EQ(router_->counters().failures, 0u);
    EXPECT_GE(router_->capacity(), 1000u);  // KVM allows 4096 routes on x86
}

TEST_F(MsiRoutingKvmTest, SignalMsiRaisesTheVectorInTheLocalApic) {
    EXPECT_FALSE(apic_requests(0x31));
    router_->signal(fixed_vector(0x31));
    const auto counters = router_->counters();
    EXPECT_EQ(counters.signals, 1u);
    EXPECT_EQ(counters.signals_blocked, 0u) << "the local APIC did not accept the MSI";
    EXPECT_EQ(counters.failures, 0u);
    EXPECT_TRUE(apic_requests(0x31));
}

TEST_F(MsiRoutingKvmTest, AnIrqfdOnAnMsiRouteRaisesTheVectorWithoutAnIoctl) {
    EventFd vector_fd = make_eventfd();
    ASSERT_TRUE(router_->bind(vector_fd.fd(), fixed_vector(0x32)));
    EXPECT_FALSE(apic_requests(0x32));
    vector_fd.signal();
    EXPECT_TRUE(eventually([&] { return apic_requests(0x32); }));
}

TEST_F(MsiRoutingKvmTest, ARepointedIrqfdDeliversTheNewMessageOnly) {
    EventFd vector_fd = make_eventfd();
    ASSERT_TRUE(router_->bind(vector_fd.fd(), fixed_vector(0x33)));
    ASSERT_TRUE(router_->bind(vector_fd.fd(), fixed_vector(0x34)));
    vector_fd.signal();
    EXPECT_TRUE(eventually([&] { return apic_requests(0x34); }));
    EXPECT_FALSE(apic_requests(0x33));
}

TEST_F(MsiRoutingKvmTest, ASignalWhileUnboundIsDeliveredWhenBoundAgain) {
    // A masked vector: its fd is unbound and collects the signal; unmasking binds it again and
    // KVM finds the count waiting.
    EventFd vector_fd = make_eventfd();
    ASSERT_TRUE(router_->bind(vector_fd.fd(), fixed_vector(0x35)));
    router_->unbind(vector_fd.fd());
    vector_fd.signal();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(apic_requests(0x35));
    ASSERT_TRUE(router_->bind(vector_fd.fd(), fixed_vector(0x35)));
    EXPECT_TRUE(eventually([&] { return apic_requests(0x35); }));
}

TEST_F(MsiRoutingKvmTest, IntxIrqfdsStillReachTheIoapicAndPicAfterTheTableIsReplaced) {
    EventFd vector_fd = make_eventfd();
    ASSERT_TRUE(router_->bind(vector_fd.fd(), fixed_vector(0x36)));
    ASSERT_GE(router_->counters().routing_updates, 1u);
    // PCI INTx as hvmm wires it (IrqfdLine): a level irqfd with a resample fd. GSI 10 is a
    // PIC + IOAPIC pin, GSI 20 an IOAPIC-only one (pins are masked at reset, so the IOAPIC
    // holds the request in its IRR).
    EventFd intx10 = make_eventfd(), resample10 = make_eventfd();
    EventFd intx20 = make_eventfd(), resample20 = make_eventfd();
    ASSERT_TRUE(vm_->add_irqfd(intx10.fd(), 10, resample10.fd()));
    ASSERT_TRUE(vm_->add_irqfd(intx20.fd(), 20, resample20.fd()));
    intx10.signal();
    intx20.signal();
    EXPECT_TRUE(eventually([&] { return (ioapic_irr() & (1u << 10)) != 0; }));
    EXPECT_TRUE(eventually([&] { return (ioapic_irr() & (1u << 20)) != 0; }));
    EXPECT_TRUE(eventually([&] { return (pic_irr(KVM_IRQCHIP_PIC_SLAVE) & (1u << 2)) != 0; }));
}

TEST_F(MsiRoutingKvmTest, ATableWithoutTheIrqchipRoutesSilencesThePins) {
    // Why every table carries KVM's defaults: the control for the test above.
    const std::vector<kvm::GsiRoute> msi_only = {
        {.gsi = 24, .kind = kvm::GsiRoute::Kind::kMsi, .msi_address = kApicBase, .msi_data = 0x37}};
    ASSERT_TRUE(vm_->set_gsi_routing(msi_only));
    EventFd intx = make_eventfd(), resample = make_eventfd();
    ASSERT_TRUE(vm_->add_irqfd(intx.fd(), 11, resample.fd()));
    intx.signal();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(ioapic_irr() & (1u << 11), 0u);
    EXPECT_EQ(pic_irr(KVM_IRQCHIP_PIC_SLAVE) & (1u << 3), 0u);
}

}  // namespace
}  // namespace hvmm
