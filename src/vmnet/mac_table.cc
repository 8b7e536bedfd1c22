#include "vmnet/mac_table.h"

#include <algorithm>

namespace hvmm::vmnet {

MacTable::MacTable(MacTableConfig config) : config_(config) {
    config_.capacity = std::max<size_t>(config_.capacity, 1);
    config_.per_port_cap = std::clamp<size_t>(config_.per_port_cap, 1, config_.capacity);
    entries_.reserve(config_.capacity);
}

bool MacTable::aged(const Entry& entry, TimePoint now) const {
    // A clock that went backwards (it should not: steady) leaves the entry fresh.
    return now > entry.last_seen && now - entry.last_seen >= config_.max_age;
}

void MacTable::erase(std::unordered_map<MacAddress, Entry, net::MacAddressHash>::iterator it) {
    const auto port = ports_.find(it->second.port);
    port->second.erase(it->second.in_port);
    if (port->second.empty()) {
        ports_.erase(port);
    }
    entries_.erase(it);
}

void MacTable::evict_oldest_of(PortId port) {
    const auto list = ports_.find(port);
    erase(entries_.find(list->second.front()));
    ++counters_.evicted;
}

PortId MacTable::largest_port(PortId preferred) const {
    // The preferred (learning) port wins a tie, so a flood never takes an entry from a port
    // that holds no more than the flooder does.
    PortId best = preferred;
    size_t best_size = port_size(preferred);
    for (const auto& [port, list] : ports_) {
        if (list.size() > best_size ||
            (list.size() == best_size && best_size > 0 && best != preferred && port < best)) {
            best = port;
            best_size = list.size();
        }
    }
    return best;
}

void MacTable::insert(const MacAddress& mac, PortId port, TimePoint now) {
    auto& list = ports_[port];
    list.push_back(mac);
    entries_.emplace(mac, Entry{port, now, std::prev(list.end())});
}

LearnOutcome MacTable::learn(const MacAddress& source, PortId port, TimePoint now) {
    if (net::is_multicast(source)) {
        ++counters_.refused;
        return LearnOutcome::kRefusedGroup;
    }
    if (net::is_zero(source)) {
        ++counters_.refused;
        return LearnOutcome::kRefusedZero;
    }
    auto it = entries_.find(source);
    if (it != entries_.end() && it->second.port == port) {
        // Seen again where it was: only its age restarts (even if it had aged, since it is
        // evidently still there).
        it->second.last_seen = now;
        auto& list = ports_[port];
        list.splice(list.end(), list, it->second.in_port);
        return LearnOutcome::kRefreshed;
    }
    const bool moving = it != entries_.end() && !aged(it->second, now);
    if (it != entries_.end()) {
        erase(it);  // its old port's count drops before this port's cap is judged
    }
    if (port_size(port) >= config_.per_port_cap) {
        evict_oldest_of(port);
    } else if (entries_.size() >= config_.capacity) {
        // Aged entries are free space: take those before anyone's live entry.
        if (expire(now) == 0) {
            evict_oldest_of(largest_port(port));
        }
    }
    insert(source, port, now);
    if (moving) {
        ++counters_.moved;
        return LearnOutcome::kMoved;
    }
    ++counters_.learned;
    return LearnOutcome::kLearned;
}

std::optional<PortId> MacTable::lookup(const MacAddress& destination, TimePoint now) {
    if (net::is_multicast(destination)) {
        return std::nullopt;
    }
    const auto it = entries_.find(destination);
    if (it == entries_.end()) {
        return std::nullopt;
    }
    if (aged(it->second, now)) {
        erase(it);
        ++counters_.expired;
        return std::nullopt;
    }
    return it->second.port;
}

void MacTable::forget_port(PortId port) {
    const auto list = ports_.find(port);
    if (list == ports_.end()) {
        return;
    }
    for (const MacAddress& mac : list->second) {
        entries_.erase(mac);
    }
    ports_.erase(list);
}

size_t MacTable::expire(TimePoint now) {
    size_t dropped = 0;
    // Each port's list is oldest first, so the sweep stops at the first live entry per port.
    for (auto port = ports_.begin(); port != ports_.end();) {
        auto& list = port->second;
        while (!list.empty() && aged(entries_.find(list.front())->second, now)) {
            entries_.erase(list.front());
            list.pop_front();
            ++dropped;
        }
        port = list.empty() ? ports_.erase(port) : std::next(port);
    }
    counters_.expired += dropped;
    return dropped;
}

size_t MacTable::port_size(PortId port) const {
    const auto it = ports_.find(port);
    return it == ports_.end() ? 0 : it->second.size();
}

std::vector<MacTableEntry> MacTable::entries(TimePoint now) const {
    std::vector<MacTableEntry> out;
    out.reserve(entries_.size());
    for (const auto& [mac, entry] : entries_) {
        if (!aged(entry, now)) {
            out.push_back(MacTableEntry{mac, entry.port, entry.last_seen});
        }
    }
    std::sort(out.begin(), out.end(), [](const MacTableEntry& a, const MacTableEntry& b) {
        return net::mac_to_u64(a.mac) < net::mac_to_u64(b.mac);
    });
    return out;
}

}  // namespace hvmm::vmnet
