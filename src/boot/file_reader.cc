#include "boot/file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hvmm::boot {

Result<OpenFile> open_regular_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        return fail_errno("cannot open {}", path);
    }
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) {
        return fail_errno("cannot stat {}", path);
    }
    if (!S_ISREG(status.st_mode)) {
        return fail("{} is not a regular file", path);
    }
    return OpenFile{std::move(fd), static_cast<uint64_t>(status.st_size)};
}

Result<void> read_exactly(const OpenFile& file, const std::string& path, std::span<uint8_t> out) {
    uint64_t done = 0;
    while (done < out.size()) {
        const ssize_t n =
            ::pread(file.fd.get(), out.data() + done, out.size() - done, static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail_errno("cannot read {}", path);
        }
        if (n == 0) {
            return fail("{} shrank while it was read ({} of {} bytes)", path, done, out.size());
        }
        done += static_cast<uint64_t>(n);
    }
    return {};
}

Result<std::vector<uint8_t>> read_whole_file(const std::string& path, uint64_t max_size) {
    const OpenFile file = HVMM_TRY(open_regular_file(path));
    if (file.size > max_size) {
        return fail("{} is {} MiB, more than the {} MiB allowed", path, file.size >> 20,
                    max_size >> 20);
    }
    std::vector<uint8_t> bytes(file.size);
    HVMM_TRY_VOID(read_exactly(file, path, bytes));
    return bytes;
}

}  // namespace hvmm::boot
