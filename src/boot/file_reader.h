// Reading kernel and initrd files whole, with errors that name the file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace hvmm::boot {

// An open regular file and its size.
struct OpenFile {
    UniqueFd fd;
    uint64_t size;
};

// Opens path for reading; refuses directories, devices and anything that is not a regular file.
Result<OpenFile> open_regular_file(const std::string& path);

// Reads exactly out.size() bytes from the start of file into out.
Result<void> read_exactly(const OpenFile& file, const std::string& path, std::span<uint8_t> out);

// The whole of a regular file, refusing anything larger than max_size.
Result<std::vector<uint8_t>> read_whole_file(const std::string& path, uint64_t max_size);

}  // namespace hvmm::boot
