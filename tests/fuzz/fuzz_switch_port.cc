// Fuzz target for what a peer of `hvmm switch` controls: the bytes on its connection. They go
// through a StreamPort over a socketpair, in input-chosen pieces, into a switch of three ports
// (that one, a second stream port whose peer never reads, and the DHCP port), forwarded by the
// SwitchFabric the daemon uses. Nothing may crash; the silent peer's queue stays within its
// bound; after the port asks to close, it delivers nothing more.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "vmnet/dhcp_port.h"
#include "vmnet/stream_port.h"
#include "vmnet/switch_fabric.h"
#include "fuzz_input.h"

namespace {

using namespace hvmm::vmnet;

using hvmm::fuzz::check;

// The daemon's forwarding, reduced: frames injected during forwarding wait their turn.
struct MiniSwitch : PortHost {
    SwitchFabric fabric{MacTableConfig{.capacity = 64, .per_port_cap = 16}, 1514};
    std::map<PortId, SwitchPort*> ports;
    std::deque<std::pair<PortId, std::vector<uint8_t>>> pending;
    bool forwarding = false;
    bool closed = false;

    void ingress(PortId in, std::span<const uint8_t> frame) override {
        check(!closed || in != 1, "a closed port delivered a frame");
        pending.emplace_back(in, std::vector<uint8_t>(frame.begin(), frame.end()));
        if (forwarding)
            return;
        forwarding = true;
        while (!pending.empty() && pending.size() < 1000) {
            auto [port, bytes] = std::move(pending.front());
            pending.pop_front();
            const auto decision = fabric.forward(port, bytes, TimePoint{});
            for (auto& [id, out] : ports) {
                const bool to_it = decision.kind == ForwardDecision::Kind::kFlood
                                       ? id != port
                                       : decision.kind == ForwardDecision::Kind::kUnicast &&
                                             decision.port == id;
                if (to_it)
                    out->send(bytes);
            }
        }
        check(pending.size() < 1000, "injected frames never stop");
        pending.clear();
        forwarding = false;
    }
    void want_writable(PortId, bool) override {}
    void close_port(PortId port, std::string_view) override {
        if (port == 1)
            closed = true;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    MiniSwitch host;
    int input[2], silent[2];
    check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, input) == 0, "socketpair");
    check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, silent) == 0, "socketpair");
    hvmm::UniqueFd fuzzer(input[1]), silent_peer(silent[1]);
    const PortId a = host.fabric.add_port(), b = host.fabric.add_port(),
                 d = host.fabric.add_port();
    StreamPort port_a(a, hvmm::UniqueFd(input[0]), host, "fuzz",
                      StreamPortLimits{.max_frame = 2048});
    StreamPort port_b(b, hvmm::UniqueFd(silent[0]), host, "silent",
                      StreamPortLimits{.max_frame = 2048, .send_queue_bytes = 8192});
    auto server = DhcpServer::create(DhcpServerConfig{
        .network = hvmm::net::Ipv4Address::of(192, 168, 76, 0)});
    check(server.has_value(), "dhcp server");
    auto dhcp = DhcpPort::create(d, host, std::move(*server), "/nonexistent/dir/leases.json");
    check(dhcp.has_value(), "dhcp port");
    host.ports = {{a, &port_a}, {b, &port_b}, {d, dhcp->get()}};

    size_t at = 0;
    while (at < size && !host.closed) {
        const size_t piece = std::min<size_t>(size - at, 1 + data[at] % 200);
        ++at;
        const size_t n = std::min(piece, size - at);
        if (n > 0 && ::send(fuzzer.get(), data + at, n, MSG_NOSIGNAL) < 0)
            break;
        at += n;
        port_a.handle_events(EPOLLIN);
        check(port_b.queued_bytes() <= 8192 + 4 + 2048, "the send queue outgrew its bound");
    }
    fuzzer.reset();
    for (int i = 0; i < 8 && !host.closed; ++i) port_a.handle_events(EPOLLIN | EPOLLHUP);
    check(host.closed, "the port did not close at the end of its input");
    return 0;
}
