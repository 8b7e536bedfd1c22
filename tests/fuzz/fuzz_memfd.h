// A fuzz input as a file the loaders can open by path: an anonymous memory file (memfd) named
// /proc/self/fd/N, so the real read path (open, fstat, read) runs without touching the disk.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

namespace hvmm::fuzz {

class MemoryFile {
  public:
    explicit MemoryFile(std::span<const uint8_t> contents) {
        fd_ = memfd_create("fuzz-input", MFD_CLOEXEC);
        if (fd_ < 0) {
            std::perror("memfd_create");
            std::abort();
        }
        size_t done = 0;
        while (done < contents.size()) {
            const ssize_t n = ::write(fd_, contents.data() + done, contents.size() - done);
            if (n <= 0) {
                std::perror("write to memfd");
                std::abort();
            }
            done += static_cast<size_t>(n);
        }
    }
    // A file of size bytes that are all zero (sparse: costs no memory until read).
    static MemoryFile of_size(uint64_t size) {
        MemoryFile file({});
        if (::ftruncate(file.fd_, static_cast<off_t>(size)) != 0) {
            std::perror("ftruncate memfd");
            std::abort();
        }
        return file;
    }
    MemoryFile(MemoryFile&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;
    ~MemoryFile() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

  private:
    int fd_ = -1;
};

}  // namespace hvmm::fuzz
