// The AMD Am79C970A (PCnet-PCI II) Ethernet controller, independent of PCI: the 32-byte I/O
// window (address PROM, RDP/RAP/RESET/BDP in 16-bit WIO or 32-bit DWIO mode), CSRs and BCRs,
// the MII PHY, and the descriptor-ring data path. The PCI glue hands in guest memory for bus-
// master DMA, the interrupt line, and the backend frames go to.
//
// Threads and locks: register accesses come from vCPU threads, received frames from the I/O
// thread; one mutex per chip serialises them. Lock order: the chip's mutex is taken first and
// only leaf operations run under it (DmaSpace reads/writes, IrqLine::set_level, logging).
// NetBackend::send and the VMM's events (PcnetEvents, given at construction) are called with the
// mutex released, but for fetch_silent_writes, so a backend may deliver frames straight back into
// receive(), and an event may call process_transmit_ring() or the backend's poll_receive().
// IrqLine::set_level must not call back into the chip.
//
// Bounded work per walk, at wire rate once the guest stops paying: a walk a transmit demand
// starts (TDMD, STRT; the guest paid an exit for it) sends at most kWalkBudget, a walk the poll
// timer starts (the chip's own poll, or resuming deferred work) at most kPollWalkBudget, which is
// what the chip's 10 Mbit/s wire carries in one 2 ms poll tick. What a budget leaves waits for
// the next tick with TDMD still pending, counted (tx_walks_deferred). Once a demand's walk has
// spent the whole kWalkBudget with frames still waiting, demands get only the wire's share too
// (tx_walks_wire_paced) until a walk finds the ring done: a normal driver's ring (pcnet32 keeps
// 16 descriptors and demands each frame) never gets there, a ring that feeds itself (internal
// loopback with the receive buffer aliased onto the descriptors) gets there on its first walk.
// Such a ring so costs hvmm what the wire carries per tick, plus a frame or two for each exit
// the guest pays for, not a host CPU for as long as the guest sleeps. For the same reason the
// walk steps aside (drops the lock) between frames whenever a register access waits.
//
// Loopback (CSR15 LOOP): internal loopback (INTL, or BCR32 MIIILP) hands each sent frame to
// the chip's own receiver and never to the backend, and the receiver ignores the backend;
// external loopback sends the frame to the backend and also receives it back, as a loopback
// plug on the wire would.
//
// Not modelled: ASTRP_RCV pad stripping, SWSTYLE 1 (ILACC; taken as 0 like the reserved
// styles), writes to the ring counters CSR72/CSR74, LED activity (LEDs show link only), the
// EEPROM behind BCR19, collisions and retries (a virtual wire has none).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>

#include "devices/pcnet/pcnet_counters.h"
#include "devices/pcnet/pcnet_descriptors.h"
#include "devices/pcnet/pcnet_events.h"
#include "devices/pcnet/pcnet_phy.h"
#include "devices/pcnet/pcnet_registers.h"
#include "irq/irq_line.h"
#include "memory/dma.h"
#include "net/mac_address.h"
#include "net/net_backend.h"

namespace hvmm {

class PcnetChip : public FrameSink {
  public:
    // Largest frame (without FCS) the chip sends or receives; longer ones are dropped and
    // counted. With its FCS it must fit the 12-bit MCNT of the last receive descriptor.
    static constexpr size_t kMaxFrameSize = 4095 - 4;
    static constexpr size_t kMinFrameSize = 60;       // without FCS: 64 on the wire
    static constexpr size_t kBabbleThreshold = 1518;  // longest legal frame, FCS included
    static constexpr uint64_t kRegisterWindowSize = pcnet::kWindowSize;

    // What one ring walk may send before the rest waits for the next poll tick (2 ms while
    // polls find work, TransmitPollPacer), in bytes on the wire (wire_bytes: FCS, preamble and
    // gap included, a runt counted as 64 bytes). A walk stops after the frame that reaches the
    // byte count (frames are never split), so one walk moves at most bytes + one frame.
    struct WalkBudget {
        uint64_t frames;
        uint64_t bytes;
    };
    // A demand's walk: pcnet32 keeps 16 transmit descriptors and demands every frame, so its
    // walks send at most 16 frames (24 KiB); the budget is twice that.
    static constexpr WalkBudget kWalkBudget{32, 48 * 1024};
    // A walk the guest did not pay for (the poll timer's), or a demand's once the ring has
    // outrun kWalkBudget: 10 Mbit/s for one 2 ms tick is 2,500 bytes on the wire, at least one
    // frame and at most 30 minimum-size ones (84 bytes each). The poll's walks keep account
    // across ticks (wire_credit_), so a frame longer than a tick's bytes takes the ticks its
    // time on the wire needs: at the VMM's 2 ms tick they send exactly at 10 Mbit/s.
    static constexpr uint64_t wire_bytes(size_t frame_length) {
        constexpr uint64_t kFcs = 4, kMinOnWire = 64, kPreambleAndGap = 8 + 12;
        return std::max<uint64_t>(frame_length + kFcs, kMinOnWire) + kPreambleAndGap;
    }
    // A budget of bytes on the wire, with the frame count those bytes hold in minimum frames.
    static constexpr WalkBudget wire_budget(uint64_t bytes) {
        return {(bytes + wire_bytes(0) - 1) / wire_bytes(0), bytes};
    }
    static constexpr WalkBudget kPollWalkBudget{30, 2500};  // wire_budget(2500)
    // The wire's 10 Mbit/s in bytes per microsecond, times 8.
    static constexpr uint64_t kWireBitsPerMicrosecond = 10;

    // backend may be null (NIC not connected: transmitted frames are dropped and counted).
    // events: what the chip tells its VMM (PcnetEvents); it must outlive the chip.
    PcnetChip(DmaSpace& dma, IrqLine& irq, NetBackend* backend, MacAddress mac,
              PcnetEvents& events = PcnetEvents::none());
    PcnetChip(const PcnetChip&) = delete;
    PcnetChip& operator=(const PcnetChip&) = delete;

    // The 32-byte register window; data.size() is the access width.
    void read(uint64_t offset, std::span<uint8_t> data);
    void write(uint64_t offset, std::span<const uint8_t> data);

    // Hardware reset (PCI RST#): every register to its reset value, back to 16-bit WIO mode.
    void reset();
    void set_link_up(bool up);
    // From the VMM's timer: polls the transmit ring (unless DPOLL) like the chip's own poll
    // timer, resumes a walk the budget deferred (even with DPOLL: its demand is pending), and
    // reports receive buffers the guest handed back since can_receive() said no.
    // since_last: the time since the previous poll (the VMM's timer period), which the wire's
    // credit grows by (10 Mbit/s of it, up to one period's worth).
    // True when the poll had work: it sent frames no demand had sent and finished the ring, a
    // held transmit-done interrupt was due, or the receiver hears the wire and waits for
    // buffers. A VMM may poll less often while it has none (a driver that demands every frame
    // with TDMD leaves the poll nothing to do). Frames the wire holds back are no such work: they
    // go at the wire's rate whatever the period, so a ring that feeds itself does not keep the
    // VMM polling fast.
    static constexpr std::chrono::microseconds kPollTick{2000};
    bool poll(std::chrono::microseconds since_last = kPollTick);
    // A transmit demand's walk: sends the complete frames the guest has queued, walking the
    // ring at most once per demand and at most kWalkBudget (kPollWalkBudget while the ring
    // outruns it); returns the frames sent (0 when another thread is already walking).
    size_t process_transmit_ring();

    struct PortWindow {
        uint16_t offset;
        uint16_t width;
    };
    // Where RAP is in the I/O window now: writes there only select a register, so a VMM may
    // buffer them (they have no effect until the next RDP/BDP access, which exits).
    PortWindow rap_window() const;

    // Silent writes: a VMM may let two writes through without an exit and count them (KVM
    // ioeventfds with a data match): RAP := 0, and RDP := 0x48 (TDMD | INEA, what pcnet32 writes
    // to CSR0 for every frame). Every other RAP and RDP/BDP access still reaches the chip, so
    // between two such accesses RAP can only have changed to 0. The chip takes the counts
    // (PcnetEvents::fetch_silent_writes, under its lock) before any access for which they matter:
    // one that writes RAP, and any RDP/BDP access while RAP is not 0. With RAP at 0 a pending
    // 0x48 is a transmit demand whatever came around it, so the VMM resolves those from its I/O
    // thread (resolve_silent_writes) without waiting for the next access.
    using SilentWrites = PcnetSilentWrites;
    // The value pcnet32 writes to CSR0 for each frame: TDMD | INEA.
    static constexpr uint16_t kSilentTransmitDemand = 0x0048;
    void resolve_silent_writes();
    // Where RDP is: the silent transmit demand's port and width.
    PortWindow rdp_window() const;

    // Send combining's interrupt batching: a transmit-done interrupt (TINT without errors) is
    // shown on the line when the ring walk that sent the frame ends, so one walk that sends a
    // batch raises one interrupt, and none waits longer than its batch takes to send. Off: every
    // TINT interrupts at once, as the chip does. (Holding TINT for three frames or a 2 ms tick,
    // the paper's bound, slowed TCP transmit in the lab: pcnet32's NAPI masks the chip's
    // interrupts while it polls, so holding saved no interrupt and only delayed the transmit
    // completions TCP waits for; bench/results/tx-pairs-ab.md.)
    void set_transmit_interrupt_per_walk(bool on);

    // FrameSink, for the backend (I/O thread).
    bool can_receive() override;
    void receive(std::span<const uint8_t> frame) override;
    void link_changed(bool up) override { set_link_up(up); }

    PcnetCounters counters() const;

  private:
    struct Ring {
        uint32_t base = 0;
        uint32_t length = 1;  // descriptors, 0 only if the guest wrote RCVRL/XMTRL = 0
        uint32_t index = 0;
    };
    // Work a register access found for after the lock is dropped.
    struct Deferred {
        bool transmit_demand = false;
        bool receive_resumed = false;
        bool layout_changed = false;
    };
    enum class Port : uint8_t { kRdp, kRap, kReset, kBdp };

    // The lock for a register access: it tells a transmit walk in progress to step aside
    // between frames (register_waiters_), so the access waits for one frame at most.
    std::unique_lock<std::mutex> lock_for_register_access();
    // Between two frames of a walk (lock held): lets waiting register accesses in.
    void let_register_accesses_in(std::unique_lock<std::mutex>& lock);
    enum class WalkOrigin : uint8_t { kDemand, kPoll };
    size_t walk_transmit_ring(WalkOrigin origin);
    WalkBudget budget_for(WalkOrigin origin) const;
    // After a walk the budget ended: whether the ring still holds a frame for the chip.
    bool transmit_frame_waiting();

    void reset_locked(bool hardware);
    void apply_silent_writes(Deferred& deferred);
    void read_locked(uint64_t offset, std::span<uint8_t> data, Deferred& deferred);

    void load_prom();
    Deferred write_locked(uint64_t offset, std::span<const uint8_t> data);
    std::optional<Port> decode_port(uint64_t offset, size_t width) const;
    void run(const Deferred& deferred);

    uint16_t read_csr(unsigned index);
    void write_csr(unsigned index, uint16_t value, Deferred& deferred);
    void write_csr0(uint16_t value, Deferred& deferred);
    uint16_t read_bcr(unsigned index);
    void write_bcr(unsigned index, uint16_t value);

    void initialize();
    void start(Deferred& deferred);
    void stop();
    bool stopped_or_suspended() const;
    uint32_t upper_address() const;
    uint64_t descriptor_address(const Ring& ring, uint32_t index) const;
    bool read_descriptor(const Ring& ring, uint32_t index, std::span<uint8_t> raw);
    void memory_error();
    void update_interrupt();
    void note_receive_possible(Deferred& deferred);

    // Transmit: assembles the next frame into tx_frame_ and returns its length, or nothing
    // when the ring holds no complete frame to act on.
    struct PendingFrame {
        size_t length = 0;
        bool to_backend = false;
    };
    std::optional<PendingFrame> next_transmit_frame(uint32_t& budget);
    void loop_back(size_t length, uint16_t enp_status);

    // Receive: a frame is given as pieces (frame, padding, FCS) so it is copied once.
    bool receiver_running(bool from_loopback) const;
    bool current_receive_descriptor_owned();
    // The receive status bits (PAM/BAM/LAFM) if the receiver takes a frame with this
    // destination, or nothing (counted) if it does not.
    std::optional<uint16_t> accept_frame(std::span<const uint8_t> head, bool from_loopback);
    void store_received_frame(std::span<const std::span<const uint8_t>> pieces, size_t total,
                              uint16_t match_status);
    void count_missed_frame();

    DmaSpace& dma_;
    IrqLine& irq_;
    NetBackend* backend_;
    MacAddress mac_;
    PcnetEvents& events_;

    mutable std::mutex mutex_;
    std::array<uint8_t, pcnet::kPromSize> prom_{};
    std::array<uint16_t, pcnet::kCsrCount> csr_{};
    std::array<uint16_t, pcnet::kBcrCount> bcr_{};
    uint8_t rap_ = 0;
    bool dword_io_ = false;
    pcnet::SoftwareStyle style_ = pcnet::SoftwareStyle::kLance;
    Ring rx_ring_;
    Ring tx_ring_;
    pcnet::PcnetPhy phy_;
    bool link_up_ = true;
    bool irq_level_ = false;
    bool receive_blocked_ = false;  // can_receive() said no since buffers were last seen
    bool transmitting_ = false;     // a thread is in process_transmit_ring (maybe unlocked)
    bool transmit_again_ = false;   // another demand arrived meanwhile
    bool tint_per_walk_ = false;    // set_transmit_interrupt_per_walk
    bool tint_held_ = false;        // TINT is set but not shown on the line until the walk ends
    PcnetCounters counters_;
    // The budget ended the last walk with frames queued: its demand is pending (kWalkBudget).
    bool transmit_deferred_ = false;
    // A demand's walk spent the whole kWalkBudget with frames still queued, and no walk has
    // found the ring done since: demands get kPollWalkBudget.
    bool transmit_outran_budget_ = false;
    // The wire's time for the poll's walks, in bytes: each poll() adds what 10 Mbit/s carries
    // in its since_last (up to that much), each poll walk spends what it sent. A frame is never
    // split, so a walk may overdraw by one frame, and the next ticks send nothing until the wire
    // has carried it.
    int64_t wire_credit_ = kPollWalkBudget.bytes;
    // Register accesses waiting for mutex_: a walk steps aside for them between frames.
    std::atomic<uint32_t> register_waiters_ = 0;
    // The frame being sent: one copy from guest buffers, then straight to the backend. Room
    // for the FCS a loopback appends. Only the thread with transmitting_ set touches it.
    std::array<uint8_t, kMaxFrameSize + 4> tx_frame_{};
};

}  // namespace hvmm
