// The daemon's side of the control channel (switch_control.h).
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

#include "vmnet/virtual_switch.h"

namespace hvmm::vmnet {
namespace {

// The answer is written blocking, with this limit: only this user can connect (0700), and a
// client that stops reading stalls the switch for at most this long.
constexpr timeval kAnswerTimeout{.tv_sec = 2, .tv_usec = 0};

void send_all(int fd, const std::string& text) {
    size_t sent = 0;
    while (sent < text.size()) {
        const ssize_t n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;  // the client went away or stalled: its loss
        }
        sent += static_cast<size_t>(n);
    }
}

nlohmann::json refusal(std::string_view why) {
    return {{"ok", false}, {"error", why}};
}

}  // namespace

void VirtualSwitch::accept_control() {
    UniqueFd connection(::accept4(control_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!connection || controls_.size() >= kMaxControlConnections) {
        return;  // a refused one is closed at once; the client retries
    }
    const int fd = connection.get();
    if (!loop_->add_fd(fd, [this, fd](uint32_t events) { on_control_events(fd, events); })) {
        return;
    }
    controls_.emplace(fd, ControlConnection{std::move(connection), {},
                                            std::chrono::steady_clock::now()});
}

void VirtualSwitch::on_control_events(int fd, uint32_t) {
    const auto it = controls_.find(fd);
    if (it == controls_.end()) {
        return;
    }
    ControlConnection& control = it->second;
    char chunk[1024];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n > 0) {
        control.request.append(chunk, static_cast<size_t>(n));
    }
    const bool complete = control.request.find('\n') != std::string::npos;
    const bool ended = n <= 0;
    if (!complete && !ended && control.request.size() <= kMaxControlRequest) {
        return;  // more to come
    }
    std::string answer;
    if (control.request.size() > kMaxControlRequest) {
        answer = refusal("request too long").dump();
    } else if (complete || !control.request.empty()) {
        answer = answer_control(control.request.substr(0, control.request.find('\n')));
    }
    if (!answer.empty()) {
        ::fcntl(fd, F_SETFL, 0);  // blocking, bounded by the timeout
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kAnswerTimeout, sizeof kAnswerTimeout);
        send_all(fd, answer + "\n");
    }
    loop_->remove_fd(fd);
    controls_.erase(it);
}

std::string VirtualSwitch::answer_control(std::string_view request) {
    const auto json = nlohmann::json::parse(request, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("op") ||
        !json["op"].is_string()) {
        return refusal("not a request (expected {\"op\":\"status\"} or {\"op\":\"stop\"})").dump();
    }
    const std::string op = json["op"].get<std::string>();
    if (op == "status") {
        nlohmann::json answer = status();
        answer["ok"] = true;
        return answer.dump();
    }
    if (op == "stop") {
        stop();  // the loop ends after this callback; run() returns and the caller cleans up
        return nlohmann::json{{"ok", true}}.dump();
    }
    return refusal("unknown op '" + op + "'").dump();
}

}  // namespace hvmm::vmnet
