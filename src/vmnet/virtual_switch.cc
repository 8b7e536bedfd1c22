#include "vmnet/virtual_switch.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <ctime>

#include "base/log.h"
#include "vmnet/dhcp_port.h"
#include "vmnet/nat_port.h"
#include "vmnet/stream_port.h"
#include "vmnet/switch_instance.h"
#include "vmnet/tap_port.h"

namespace hvmm::vmnet {
namespace {

constexpr auto kHousekeepingPeriod = std::chrono::seconds(1);
// MAC aging is in minutes; sweeping every 10 s keeps the table honest without cost.
constexpr unsigned kExpireEveryTicks = 10;
constexpr int kMaxAcceptsPerEvent = 16;

log::RateLimitedWarning port_closed_warning;
log::RateLimitedWarning accept_warning;

}  // namespace

VirtualSwitch::VirtualSwitch(SwitchConfig config)
    : config_(std::move(config)),
      fabric_(config_.mac_table, kMaxSwitchedFrame),
      started_(std::chrono::steady_clock::now()) {}

VirtualSwitch::~VirtualSwitch() {
    // Ports first (they hold the host by reference), then the loop they were registered in.
    ports_.clear();
    controls_.clear();
}

Result<void> VirtualSwitch::listen_on(const std::string& path, UniqueFd& socket,
                                      net::BoundSocketPath& bound) {
    socket = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket) {
        return fail_errno("cannot create a Unix socket");
    }
    bound = HVMM_TRY(net::bind_socket_path(socket.get(), path, SOCK_STREAM));
    if (::listen(socket.get(), SOMAXCONN) != 0) {
        return fail_errno("cannot listen on {}", path);
    }
    return {};
}

Result<std::unique_ptr<VirtualSwitch>> VirtualSwitch::create(SwitchConfig config) {
    auto self = std::unique_ptr<VirtualSwitch>(new VirtualSwitch(std::move(config)));
    VirtualSwitch& s = *self;
    // A peer that vanishes mid-write must be an EPIPE on that port, never the daemon's death.
    ::signal(SIGPIPE, SIG_IGN);
    s.loop_ = HVMM_TRY(EventLoop::create());

    if (s.config_.pcap_file) {
        s.pcap_ = HVMM_TRY(PcapWriter::create(*s.config_.pcap_file));
    }
    if (s.config_.dhcp) {
        HVMM_TRY_VOID(make_private_directory(
            s.config_.paths.leases_file.substr(0, s.config_.paths.leases_file.rfind('/'))));
        auto server = HVMM_TRY(DhcpServer::create(*s.config_.dhcp));
        const PortId id = s.fabric_.add_port();
        HVMM_TRY_VOID(s.add_port(
            id, HVMM_TRY(DhcpPort::create(id, s, std::move(server), s.config_.paths.leases_file))));
    }
    if (s.config_.nat) {
        // Here, before the daemon detaches: a forward's host port in use fails the start.
        const PortId id = s.fabric_.add_port();
        HVMM_TRY_VOID(
            s.add_port(id, HVMM_TRY(NatPort::open(id, s, *s.config_.nat, s.config_.name))));
    }
    if (s.config_.uplink_tap) {
        const PortId id = s.fabric_.add_port();
        HVMM_TRY_VOID(s.add_port(id, HVMM_TRY(TapPort::open(id, s, *s.config_.uplink_tap))));
    }

    HVMM_TRY_VOID(s.listen_on(s.config_.paths.socket, s.listen_, s.listen_path_));
    HVMM_TRY_VOID(s.listen_on(s.config_.paths.control_socket, s.control_, s.control_path_));
    HVMM_TRY_VOID(s.loop_->add_fd(s.listen_.get(), [&s](uint32_t) { s.accept_ports(); }));
    HVMM_TRY_VOID(s.loop_->add_fd(s.control_.get(), [&s](uint32_t) { s.accept_control(); }));
    HVMM_TRY(s.loop_->add_timer(kHousekeepingPeriod, [&s] { s.housekeeping(); }));
    return self;
}

Result<void> VirtualSwitch::watch_signals() {
    if (signals_)
        return {};
    signals_ = HVMM_TRY(SignalFd::create({SIGINT, SIGTERM}));
    return loop_->add_fd(signals_->fd(), [this](uint32_t) {
        if (const int signal_number = signals_->read_signal(); signal_number != 0) {
            log::info("switch {}: signal {}, stopping", config_.name, signal_number);
            stop();
        }
    });
}

Result<void> VirtualSwitch::run() {
    // Here, not in create(): a signalfd watched by epoll wakes the process that registered it,
    // and create() runs before the daemon forks away from the command the user started.
    HVMM_TRY_VOID(watch_signals());
    log::info("switch {}: listening on {}", config_.name, config_.paths.socket);
    loop_->run();
    log::info("switch {}: stopped", config_.name);
    return {};
}

Result<void> VirtualSwitch::add_port(PortId id, std::unique_ptr<SwitchPort> port) {
    const int fd = port->fd();
    SwitchPort& added = *port;
    ports_.emplace(id, std::move(port));
    if (fd >= 0) {
        if (auto watched = loop_->add_fd(fd, [this, id](uint32_t ev) { on_port_events(id, ev); });
            !watched) {
            ports_.erase(id);
            fabric_.remove_port(id);
            return watched;
        }
    }
    log::info("switch {}: port {} up: {} {}", config_.name, id, added.kind(), added.peer());
    return {};
}

void VirtualSwitch::ingress(PortId port, std::span<const uint8_t> frame) {
    if (forwarding_) {
        if (pending_.size() >= kMaxPendingFrames) {
            ++counters_.pending_dropped;
            return;
        }
        pending_.push_back({port, {frame.begin(), frame.end()}});
        return;
    }
    forwarding_ = true;
    forward(port, frame);
    while (!pending_.empty()) {
        const PendingFrame next = std::move(pending_.front());
        pending_.pop_front();
        forward(next.port, next.frame);
    }
    forwarding_ = false;
}

void VirtualSwitch::forward(PortId in, std::span<const uint8_t> frame) {
    if (closing_.contains(in)) {
        return;  // a port on its way out sends nothing more
    }
    const ForwardDecision decision = fabric_.forward(in, frame, std::chrono::steady_clock::now());
    switch (decision.kind) {
        case ForwardDecision::Kind::kDrop:
            return;
        case ForwardDecision::Kind::kUnicast: {
            capture(frame);
            const auto out = ports_.find(decision.port);
            if (out != ports_.end() && !closing_.contains(decision.port)) {
                out->second->send(frame);
            }
            return;
        }
        case ForwardDecision::Kind::kFlood:
            capture(frame);
            for (const auto& [id, port] : ports_) {
                if (id != in && !closing_.contains(id)) {
                    port->send(frame);
                }
            }
            return;
    }
}

void VirtualSwitch::capture(std::span<const uint8_t> frame) {
    if (!pcap_) {
        return;
    }
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    const iovec part{const_cast<uint8_t*>(frame.data()), frame.size()};
    if (auto recorded = pcap_->record(std::span(&part, 1), now); !recorded) {
        // A full disk must not stop the network: the capture stops, the switch goes on.
        ++counters_.pcap_failures;
        log::error("switch {}: {}; capture stopped", config_.name, recorded.error().message);
        pcap_.reset();
    }
}

void VirtualSwitch::want_writable(PortId port, bool on) {
    const auto it = ports_.find(port);
    if (it != ports_.end() && it->second->fd() >= 0) {
        (void)loop_->modify_fd(it->second->fd(),
                               EPOLLIN | (on ? uint32_t{EPOLLOUT} : uint32_t{0}));
    }
}

void VirtualSwitch::close_port(PortId port, std::string_view why) {
    closing_.emplace(port, std::string(why));
}

void VirtualSwitch::on_port_events(PortId port, uint32_t events) {
    const auto it = ports_.find(port);
    if (it != ports_.end() && !closing_.contains(port)) {
        it->second->handle_events(events);
    }
    reap_closed_ports();
}

void VirtualSwitch::reap_closed_ports() {
    while (!closing_.empty()) {
        const auto [id, why] = *closing_.begin();
        const auto it = ports_.find(id);
        if (it != ports_.end()) {
            if (it->second->fd() >= 0) {
                loop_->remove_fd(it->second->fd());
            }
            counters_.closed_ports += it->second->counters();
            port_closed_warning("switch {}: port {} ({}) closed: {}", config_.name, id,
                                it->second->peer(), why);
            ports_.erase(it);
            ++counters_.ports_closed;
        }
        fabric_.remove_port(id);
        closing_.erase(id);
    }
}

void VirtualSwitch::accept_ports() {
    for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
        UniqueFd connection(
            ::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!connection) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                // Level-triggered epoll would report the waiting peer forever: stop listening
                // until housekeeping() finds room again.
                accept_warning("switch {}: cannot accept a port: {}", config_.name,
                               std::strerror(errno));
                (void)loop_->modify_fd(listen_.get(), 0);
                listen_paused_ = true;
            }
            return;
        }
        size_t streams = 0;
        for (const auto& [id, port] : ports_) streams += port->kind() == "stream";
        if (streams >= config_.max_stream_ports) {
            ++counters_.ports_refused;
            continue;  // closed by UniqueFd: the peer sees its link go down at once
        }
        std::string peer = describe_unix_peer(connection.get());
        const PortId id = fabric_.add_port();
        auto port = std::make_unique<StreamPort>(id, std::move(connection), *this, std::move(peer),
                                                 config_.port_limits);
        if (auto added = add_port(id, std::move(port)); !added) {
            log::error("switch {}: {}", config_.name, added.error().message);
            continue;
        }
        ++counters_.ports_accepted;
    }
}

void VirtualSwitch::housekeeping() {
    if (listen_paused_) {
        listen_paused_ = false;
        (void)loop_->modify_fd(listen_.get(), EPOLLIN);
    }
    const auto now = std::chrono::steady_clock::now();
    if (++housekeeping_ticks_ % kExpireEveryTicks == 0) {
        fabric_.mac_table().expire(now);
    }
    for (const auto& [id, port] : ports_) {
        port->tick();
    }
    for (auto it = controls_.begin(); it != controls_.end();) {
        if (now - it->second.accepted > kControlRequestTimeout) {
            loop_->remove_fd(it->first);
            it = controls_.erase(it);
        } else {
            ++it;
        }
    }
    reap_closed_ports();
}

}  // namespace hvmm::vmnet
