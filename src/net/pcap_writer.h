// Writes frames to a file in the classic libpcap format (LINKTYPE_ETHERNET, microsecond
// timestamps), which tcpdump and Wireshark read.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace hvmm {

class PcapWriter {
  public:
    static constexpr uint32_t kMagic = 0xA1B2C3D4;  // microsecond timestamps, host order
    static constexpr uint16_t kVersionMajor = 2;
    static constexpr uint16_t kVersionMinor = 4;
    static constexpr uint32_t kSnapLength = 65535;
    static constexpr uint32_t kLinkTypeEthernet = 1;

    // Creates (or truncates) the file and writes the global header. A file that cannot be made
    // is an error; one that opens but cannot take the header (a full disk: /dev/full) is a
    // writer whose first record() returns that error, so the run goes on and its recording
    // backend reports it once, as it does a disk that fills later.
    static Result<PcapWriter> create(const std::string& path);

    // Appends one record; a frame longer than kSnapLength is cut there (its original length
    // is kept in the record, as the format allows).
    Result<void> record(std::span<const iovec> frame, timespec when);

    const std::string& path() const { return path_; }

  private:
    PcapWriter(std::string path, UniqueFd file) : path_(std::move(path)), file_(std::move(file)) {}

    std::string path_;
    UniqueFd file_;
    std::optional<Error> header_failed_;  // the header's write error, given by the first record()
};

}  // namespace hvmm
