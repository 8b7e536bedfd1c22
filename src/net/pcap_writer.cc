#include "net/pcap_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "net/frame_limits.h"
#include "base/syscall_count.h"

namespace hvmm {
namespace {

struct GlobalHeader {
    uint32_t magic;
    uint16_t version_major;
    uint16_t version_minor;
    int32_t this_zone;  // GMT offset of the timestamps: always 0 (UTC)
    uint32_t sig_figs;  // timestamp accuracy: always 0 in practice
    uint32_t snap_length;
    uint32_t link_type;
};
static_assert(sizeof(GlobalHeader) == 24);

struct RecordHeader {
    uint32_t seconds;
    uint32_t microseconds;
    uint32_t captured_length;
    uint32_t original_length;
};
static_assert(sizeof(RecordHeader) == 16);

// Writes all of the gather list, resuming after a short write (a regular file may give one
// when the disk fills).
Result<void> write_all(int fd, std::vector<iovec> parts, const std::string& path) {
    size_t first = 0;
    while (first < parts.size()) {
        stats::count_syscall();
        const ssize_t written =
            ::writev(fd, parts.data() + first, static_cast<int>(parts.size() - first));
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail_errno("cannot write packet capture '{}'", path);
        }
        auto left = static_cast<size_t>(written);
        while (first < parts.size() && left >= parts[first].iov_len) {
            left -= parts[first].iov_len;
            ++first;
        }
        if (first < parts.size()) {
            parts[first].iov_base = static_cast<uint8_t*>(parts[first].iov_base) + left;
            parts[first].iov_len -= left;
        }
    }
    return {};
}

}  // namespace

Result<PcapWriter> PcapWriter::create(const std::string& path) {
    UniqueFd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!file) {
        return fail_errno("cannot create packet capture '{}'", path);
    }
    GlobalHeader header{.magic = kMagic,
                        .version_major = kVersionMajor,
                        .version_minor = kVersionMinor,
                        .this_zone = 0,
                        .sig_figs = 0,
                        .snap_length = kSnapLength,
                        .link_type = kLinkTypeEthernet};
    auto written = write_all(file.get(), {iovec{&header, sizeof(header)}}, path);
    PcapWriter writer(path, std::move(file));
    if (!written) {
        writer.header_failed_ = written.error();
    }
    return writer;
}

Result<void> PcapWriter::record(std::span<const iovec> frame, timespec when) {
    if (header_failed_) {
        return std::unexpected(*header_failed_);
    }
    const size_t original = net::frame_length(frame);
    RecordHeader header{
        .seconds = static_cast<uint32_t>(when.tv_sec),
        .microseconds = static_cast<uint32_t>(when.tv_nsec / 1000),
        .captured_length = static_cast<uint32_t>(std::min<size_t>(original, kSnapLength)),
        .original_length = static_cast<uint32_t>(original)};
    std::vector<iovec> parts{iovec{&header, sizeof(header)}};
    size_t budget = header.captured_length;
    for (const iovec& part : frame) {
        if (budget == 0) {
            break;
        }
        const size_t take = std::min(budget, part.iov_len);
        parts.push_back(iovec{part.iov_base, take});
        budget -= take;
    }
    return write_all(file_.get(), std::move(parts), path_);
}

}  // namespace hvmm
