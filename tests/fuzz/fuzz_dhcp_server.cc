// Fuzz target for the switch's DHCP server: the input is a script of client messages (built
// well-formed from input-chosen fields, then optionally corrupted at input-chosen bytes), raw
// frames, clock steps, lease-file round trips and raw lease-file text. The server must never
// crash, and after every step: each reply parses with correct checksums, no address is leased
// twice, no client holds two addresses, and every lease is a host address of the subnet.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "../unit/dhcp_test_client.h"
#include "vmnet/dhcp_server.h"
#include "fuzz_input.h"

namespace {

using hvmm::fuzz::FuzzInput;

using hvmm::MacAddress;
using hvmm::net::Ipv4Address;
using hvmm::vmnet::DhcpServer;
using hvmm::vmnet::WallTime;

using hvmm::fuzz::check;

// A few addresses a client might name: pool, reserved, outside the pool, another network.
Ipv4Address pick_address(uint8_t b) {
    switch (b % 6) {
        case 0:
            return Ipv4Address::of(192, 168, 77, uint8_t(128 + b % 126));
        case 1:
            return Ipv4Address::of(192, 168, 77, 50);  // reserved for client 1
        case 2:
            return Ipv4Address::of(192, 168, 77, b);
        case 3:
            return Ipv4Address::of(10, 0, 2, 15);
        case 4:
            return Ipv4Address::of(192, 168, 77, 254);
        default:
            return Ipv4Address{};
    }
}

void check_invariants(const DhcpServer& server, WallTime now) {
    std::set<uint32_t> addresses;
    std::set<uint64_t> clients;
    for (const auto& lease : server.leases(now)) {
        check(server.subnet().contains(lease.address), "lease outside the subnet");
        const uint32_t host = server.subnet().host_part(lease.address);
        check(host >= 3 && host <= 253, "lease on a reserved host number");
        check(addresses.insert(lease.address.value).second, "address leased twice");
        check(clients.insert(hvmm::net::mac_to_u64(lease.mac)).second, "client holds two");
        check(hvmm::net::is_unicast_station(lease.mac), "lease to a group address");
    }
}

// With FUZZ_DHCP_STATS set, how often each outcome was reached, so a change to the input format
// that stops exercising the server shows.
struct Totals {
    uint64_t offers = 0, acks = 0, naks = 0, dropped = 0, exhausted = 0;
    ~Totals() {
        if (std::getenv("FUZZ_DHCP_STATS")) {
            std::fprintf(stderr, "offers %llu acks %llu naks %llu dropped %llu exhausted %llu\n",
                         (unsigned long long)offers, (unsigned long long)acks,
                         (unsigned long long)naks, (unsigned long long)dropped,
                         (unsigned long long)exhausted);
        }
    }
};
Totals g_totals;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    hvmm::vmnet::DhcpServerConfig config;
    config.network = Ipv4Address::of(192, 168, 77, 0);
    config.lease_time = std::chrono::seconds(120);
    config.reservations = {
        {MacAddress{{0x52, 0x54, 0, 0, 0, 1}}, Ipv4Address::of(192, 168, 77, 50)}};
    auto created = DhcpServer::create(config);
    check(created.has_value(), "configuration refused");
    DhcpServer server = std::move(*created);
    WallTime now{std::chrono::seconds(1'800'000'000)};
    FuzzInput in(data, size);
    for (int step = 0; step < 200 && !in.empty(); ++step) {
        const uint8_t op = in.byte();
        std::optional<std::vector<uint8_t>> reply;
        switch (op % 10) {
            case 0:
            case 1:
            case 2:
            case 3:
            case 4:
            case 5: {
                hvmm::testing::ClientMessage m;
                m.type = static_cast<uint8_t>(1 + in.byte() % 8);
                const uint8_t who = in.byte();
                m.mac = MacAddress{{0x52, 0x54, 0, 0, 0, uint8_t(who % 16)}};
                m.xid = in.dword();
                m.flags = (who & 0x80) ? 0x8000 : 0;
                const uint8_t fields = in.byte();
                if (fields & 1)
                    m.ciaddr = pick_address(in.byte());
                if (fields & 2)
                    m.requested = pick_address(in.byte());
                if (fields & 4)
                    m.server_id =
                        (fields & 8) ? Ipv4Address::of(192, 168, 77, 254) : pick_address(in.byte());
                if (fields & 16) {
                    m.frame_destination = server.config().server_mac;
                    m.ip_destination = Ipv4Address::of(192, 168, 77, 254);
                }
                if (fields & 32) {
                    const auto options = in.bytes(in.byte() % 16);
                    m.extra_options.assign(options.begin(), options.end());
                }
                auto frame = hvmm::testing::client_frame(m);
                // Corrupt a few bytes half the time, so the parser's every refusal is reached
                // from frames that are otherwise right.
                const uint8_t corruptions = (fields & 64) ? in.byte() % 4 : 0;
                for (uint8_t i = 0; i < corruptions; ++i) {
                    const size_t at = (size_t{in.byte()} << 8 | in.byte()) % frame.size();
                    frame[at] = in.byte();
                }
                if (fields & 128)
                    frame.resize(frame.size() - std::min<size_t>(frame.size(), in.byte()));
                reply = server.handle(frame, now);
                break;
            }
            case 6: {
                // A copy of its own size, so that ASan sees a read past the frame's end.
                const auto bytes = in.bytes(size_t{in.byte()} * 8);
                const std::vector<uint8_t> frame(bytes.begin(), bytes.end());
                reply = server.handle(frame, now);
                break;
            }
            case 7:
                now += std::chrono::seconds(in.byte() * (op & 0x80 ? 60 : 1));
                break;
            case 8: {
                const std::string json = server.leases_json(now);
                auto fresh = DhcpServer::create(config);
                const auto report = fresh->load_leases_json(json, now);
                check(report.has_value(), "own leases file refused");
                size_t bound = 0;
                for (const auto& lease : server.leases(now)) bound += lease.bound;
                check(report->restored == bound && report->skipped == 0, "round trip lost leases");
                check_invariants(*fresh, now);
                break;
            }
            case 9: {
                const auto text = in.bytes(in.byte() * 4);
                (void)server.load_leases_json(
                    std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), now);
                break;
            }
        }
        if (reply && reply->size() > 60) {
            const auto parsed = hvmm::testing::read_reply(*reply);
            check(parsed.has_value(), "reply does not parse");
            check(parsed->ip_checksum_ok && parsed->udp_checksum_ok, "reply checksum wrong");
            check(parsed->type() == 2 || parsed->type() == 5 || parsed->type() == 6,
                  "reply of an unknown type");
        }
        check_invariants(server, now);
    }
    const auto& c = server.counters();
    g_totals.offers += c.offers;
    g_totals.acks += c.acks;
    g_totals.naks += c.naks;
    g_totals.dropped += c.total_dropped();
    g_totals.exhausted += c.pool_exhausted;
    return 0;
}
