// A learning switch's MAC table: which port each station address was last seen on, so a unicast
// frame goes to one port instead of all of them.
//
// Single-threaded: the switch's one forwarding thread owns it and calls every method; nothing
// here locks. Time is passed in (`now`, a steady_clock time point) and never read from a clock,
// so aging is deterministic in tests and follows whatever clock the daemon chooses.
//
// Bounds, since every entry is created by a frame a guest chose:
// - at most `capacity` entries in all, and at most `per_port_cap` for any one port;
// - a port at its cap that shows a new address loses its own least recently seen entry;
// - a full table that must make room takes the least recently seen entry of the port holding
//   the most entries (the learning port's own when it is that port). So a flooding port can
//   push another port down only to its own count, never below a fair share of the table, and
//   the table never grows past `capacity`;
// - entries not seen for `max_age` are gone: lookups ignore (and drop) them and expire() sweeps;
// - group (multicast, broadcast) and all-zero source addresses are never learned.
// An address seen on a new port moves there (a VM migrated or a cable moved, the way a hardware
// switch behaves); a station that spoofs another's address can take its traffic, as on any
// learning switch.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "net/mac_address.h"

namespace hvmm::vmnet {

using PortId = uint32_t;
using TimePoint = std::chrono::steady_clock::time_point;

struct MacTableConfig {
    size_t capacity = 4096;
    size_t per_port_cap = 1024;
    std::chrono::seconds max_age{300};  // IEEE 802.1D's default ageing time
};

enum class LearnOutcome : uint8_t {
    kLearned,       // a new entry
    kRefreshed,     // already there on this port; its age restarts
    kMoved,         // was on another port, now on this one
    kRefusedGroup,  // multicast or broadcast source: not a station, never learned
    kRefusedZero,   // 00:00:00:00:00:00 is no station either
};

struct MacTableCounters {
    uint64_t learned = 0;
    uint64_t moved = 0;
    uint64_t evicted = 0;  // pushed out by the per-port cap or a full table
    uint64_t expired = 0;  // aged out
    uint64_t refused = 0;  // group or zero source addresses
};

struct MacTableEntry {
    MacAddress mac;
    PortId port;
    TimePoint last_seen;
};

class MacTable {
  public:
    // capacity and per_port_cap below 1 are taken as 1; per_port_cap above capacity as capacity.
    explicit MacTable(MacTableConfig config = {});

    LearnOutcome learn(const MacAddress& source, PortId port, TimePoint now);
    // The port to send a frame for `destination` to, or nothing: flood it. Group destinations
    // always flood; an aged entry is dropped here and floods too.
    std::optional<PortId> lookup(const MacAddress& destination, TimePoint now);
    // A port went away: its entries go with it (frames for those stations flood until relearnt).
    void forget_port(PortId port);
    // Drops every aged entry; returns how many. The switch calls it from a slow timer so idle
    // entries do not hold space until a lookup happens to find them.
    size_t expire(TimePoint now);

    size_t size() const { return entries_.size(); }
    size_t port_size(PortId port) const;
    const MacTableCounters& counters() const { return counters_; }
    const MacTableConfig& config() const { return config_; }
    // Every live entry, sorted by address, for `hvmm switch status`.
    std::vector<MacTableEntry> entries(TimePoint now) const;

  private:
    struct Entry {
        PortId port;
        TimePoint last_seen;
        std::list<MacAddress>::iterator in_port;  // position in ports_[port], oldest first
    };

    bool aged(const Entry& entry, TimePoint now) const;
    void erase(std::unordered_map<MacAddress, Entry, net::MacAddressHash>::iterator it);
    // Removes the least recently seen entry of `port` (which must have one).
    void evict_oldest_of(PortId port);
    // The port with the most entries; `preferred` on a tie, else the lowest id, so the choice
    // is deterministic.
    PortId largest_port(PortId preferred) const;
    void insert(const MacAddress& mac, PortId port, TimePoint now);

    MacTableConfig config_;
    std::unordered_map<MacAddress, Entry, net::MacAddressHash> entries_;
    // Per port, its addresses from least to most recently seen: eviction and aging both take
    // from the front, refreshing splices to the back, all in constant time.
    std::unordered_map<PortId, std::list<MacAddress>> ports_;
    MacTableCounters counters_;
};

}  // namespace hvmm::vmnet
