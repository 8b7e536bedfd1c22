// The pure parts of iotime, kept apart from port I/O and sysfs so a host-side test can run them:
// the command line, a PCI sysfs `resource` file, the kernel log's TSC lines, batch statistics.
#pragma once

#include <stdint.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iotime {

enum class Format { kText, kKeyValue, kJson };

struct Options {
    long iterations = 20000;  // accesses timed per kind
    long batch = 100;         // accesses per timed batch (one RDTSC pair per batch)
    std::optional<uint16_t> port;  // --port: generic mode, no PCnet knowledge
    int width = 1;                 // --width for --port: 1, 2 or 4 bytes
    uint32_t value = 0;            // --value: what generic OUTs write
    bool unbind = false;           // --unbind: take the NIC from pcnet32 for the run, then rebind
    Format format = Format::kText;
    bool help = false;
};

// Parses argv (argv[0] excluded). On error returns nullopt and sets *error to a one-line message.
std::optional<Options> parse_options(const std::vector<std::string>& args, std::string* error);

// A number as C writes it: decimal or 0x-prefixed hex; the whole string must be used.
std::optional<uint64_t> parse_number(std::string_view s);

struct IoRange {
    uint64_t start = 0;
    uint64_t end = 0;  // inclusive, as sysfs prints it
};

// The first line of a PCI device's sysfs `resource` file is BAR0: "0x<start> 0x<end> 0x<flags>".
// Returns it when it is an I/O-port range (IORESOURCE_IO, 0x100, in flags) of non-zero size.
std::optional<IoRange> parse_bar0_io(std::string_view resource_file);

struct TscRate {
    double mhz = 0;
    std::string source;  // the kernel log line it came from, or the file
};

// The TSC rate from kernel log text (syslog or /dev/kmsg format). The refined calibration is the
// kernel's final word and wins over the early "Detected ... MHz processor|TSC" estimate; the last
// line of a kind wins over earlier ones.
std::optional<TscRate> parse_tsc_from_log(std::string_view log);

struct BatchStats {
    long iterations = 0;
    double mean_cycles = 0;    // total cycles / accesses
    double median_cycles = 0;  // median over batches of (batch cycles / batch size)
    double min_cycles = 0;     // the fastest batch, per access
};

// per_access: one value per batch, cycles per access in that batch; batch: accesses per batch.
BatchStats summarize(std::vector<double> per_access, long batch);

}  // namespace iotime
