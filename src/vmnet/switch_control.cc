#include "vmnet/switch_control.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "base/unique_fd.h"
#include "net/socket/unix_socket_path.h"

namespace hvmm::vmnet {
namespace {

// An answer bigger than this is not one our daemon sends (a full MAC table is ~400 KiB).
constexpr size_t kMaxAnswer = 16 << 20;

}  // namespace

Result<nlohmann::json> control_request(const std::string& path, const nlohmann::json& request,
                                       std::chrono::milliseconds timeout) {
    const auto address = HVMM_TRY(net::unix_address(path));
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return fail_errno("cannot create a Unix socket");
    }
    timeval limit{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
                  .tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (::connect(fd.get(), address.get(), address.length) != 0) {
        return fail_errno("cannot reach the switch at {}", path);
    }
    const std::string text = request.dump() + "\n";
    if (::send(fd.get(), text.data(), text.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(text.size())) {
        return fail_errno("cannot send to the switch at {}", path);
    }
    std::string answer;
    char chunk[65536];
    while (true) {
        const ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return fail_errno("no answer from the switch at {}", path);
        }
        if (n == 0) {
            break;
        }
        answer.append(chunk, static_cast<size_t>(n));
        if (answer.size() > kMaxAnswer) {
            return fail("the switch at {} answered more than {} bytes", path, kMaxAnswer);
        }
    }
    auto json = nlohmann::json::parse(answer, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return fail("the switch at {} answered something that is not JSON", path);
    }
    if (!json.value("ok", false)) {
        return fail("switch: {}", json.value("error", std::string("request refused")));
    }
    return json;
}

}  // namespace hvmm::vmnet
