// DhcpServer's leases on disk: JSON with absolute expiry dates, so a switch restarted within a
// lease's time gives every guest back the address it has.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <nlohmann/json.hpp>

#include "vmnet/dhcp_server.h"

namespace hvmm::vmnet {
namespace {

constexpr int kLeasesVersion = 1;
// Expiry dates past this (year 2100) are not dates a server wrote: refused as malformed.
constexpr int64_t kLatestExpiry = 4102444800;

int64_t unix_seconds(WallTime time) {
    return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

}  // namespace

std::string DhcpServer::leases_json(WallTime now) const {
    nlohmann::json leases = nlohmann::json::array();
    for (const DhcpLease& lease : this->leases(now)) {
        if (lease.bound) {
            leases.push_back({{"mac", net::to_string(lease.mac)},
                              {"address", net::to_string(lease.address)},
                              {"expires", unix_seconds(lease.expires)}});
        }
    }
    const nlohmann::json file{{"version", kLeasesVersion},
                              {"network", net::to_string(subnet_)},
                              {"leases", std::move(leases)}};
    return file.dump(1) + "\n";
}

Result<DhcpLoadReport> DhcpServer::load_leases_json(std::string_view text, WallTime now) {
    if (text.size() > kMaxLeasesText) {
        return fail("DHCP leases: {} bytes is more than a leases file holds", text.size());
    }
    // The non-throwing parse: a damaged file is an error message, never an exception.
    const auto file = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (file.is_discarded() || !file.is_object()) {
        return fail("DHCP leases: not JSON");
    }
    const auto version = file.find("version");
    if (version == file.end() || !version->is_number_integer() ||
        version->get<int64_t>() != kLeasesVersion) {
        return fail("DHCP leases: not a version {} leases file", kLeasesVersion);
    }
    const auto leases = file.find("leases");
    if (leases == file.end() || !leases->is_array()) {
        return fail("DHCP leases: no \"leases\" list");
    }
    DhcpLoadReport report;
    for (const auto& entry : *leases) {
        const auto mac_field = entry.is_object() ? entry.find("mac") : entry.end();
        const auto address_field = entry.is_object() ? entry.find("address") : entry.end();
        const auto expires_field = entry.is_object() ? entry.find("expires") : entry.end();
        if (!entry.is_object() || mac_field == entry.end() || !mac_field->is_string() ||
            address_field == entry.end() || !address_field->is_string() ||
            expires_field == entry.end() || !expires_field->is_number_integer()) {
            ++report.skipped;
            continue;
        }
        const auto mac = net::parse_mac(mac_field->get_ref<const std::string&>());
        const auto address = net::parse_ipv4(address_field->get_ref<const std::string&>());
        const int64_t expires_seconds = expires_field->get<int64_t>();
        if (!mac || !net::is_unicast_station(*mac) || !address || expires_seconds <= 0 ||
            expires_seconds > kLatestExpiry) {
            ++report.skipped;
            continue;
        }
        // A lease never comes back longer than one given now (the lease time may have shrunk).
        const WallTime expires =
            std::min(WallTime{std::chrono::seconds(expires_seconds)}, now + config_.lease_time);
        if (expires <= now || held_by(*mac, now) || !assignable(*address, *mac, now)) {
            ++report.skipped;  // expired, a duplicate client or address, or not valid here now
            continue;
        }
        assign(static_cast<uint8_t>(subnet_.host_part(*address)), *mac, SlotState::kBound, expires,
               now);
        ++report.restored;
    }
    return report;
}

Result<void> DhcpServer::save_leases_file(const std::string& path, WallTime now) const {
    const std::string text = leases_json(now);
    const std::string temporary = path + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return fail_errno("DHCP leases: cannot create {}", temporary);
    }
    size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            auto error = fail_errno("DHCP leases: cannot write {}", temporary);
            ::close(fd);
            ::unlink(temporary.c_str());
            return error;
        }
        written += static_cast<size_t>(n);
    }
    // Durable before the rename, so the file renamed into place is never empty after a crash.
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        auto error = fail_errno("DHCP leases: cannot write {}", temporary);
        ::unlink(temporary.c_str());
        return error;
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        auto error = fail_errno("DHCP leases: cannot rename {} to {}", temporary, path);
        ::unlink(temporary.c_str());
        return error;
    }
    return {};
}

Result<DhcpLoadReport> DhcpServer::load_leases_file(const std::string& path, WallTime now) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return DhcpLoadReport{};  // first start: no leases yet
        return fail_errno("DHCP leases: cannot open {}", path);
    }
    std::string text;
    char chunk[16384];
    while (true) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            auto error = fail_errno("DHCP leases: cannot read {}", path);
            ::close(fd);
            return error;
        }
        if (n == 0)
            break;
        text.append(chunk, static_cast<size_t>(n));
        if (text.size() > kMaxLeasesText)
            break;  // refused below without reading the rest
    }
    ::close(fd);
    auto report = load_leases_json(text, now);
    if (!report) {
        return fail("{} ({})", report.error().message, path);
    }
    return report;
}

}  // namespace hvmm::vmnet
