// iotime: what one IN or OUT to an I/O port costs a guest, timed from guest userspace with the TSC.
// Its purpose is the paper's per-OUT figure (USENIX ATC 2001, VMware Workstation: 31.63 us per OUT
// to the virtual NIC, 30.65 us of it the world switch) measured on hvmm's PCnet-PCI II:
//   out        OUT to RDP with RAP=88: CSR88 (chip ID, low) is read-only, so the write changes
//              nothing, yet the VMM must take the exit to find that out: a plain exiting OUT.
//   rap_write  OUT to RAP (=88 every time): what --nic-opt=ports makes cheap.
//   rdp_read   IN from RDP with RAP=88: an exiting IN.
// With --port P it times IN and OUT to any port instead (no device knowledge).
//
// Each kind is timed in batches (one RDTSC pair per batch, so the counter's own cost is spread
// over the batch); the median of the batches' per-access means resists the odd batch that a timer
// interrupt or a host preemption stretched. The TSC rate is the guest kernel's own calibration.
#include <fcntl.h>
#include <sys/io.h>
#include <sys/klog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "parse.h"
#include "pcnet_device.h"
#include "port_io.h"

namespace iotime {
namespace {

// Offsets in the PCnet I/O window (Am79C970A datasheet): 16-bit WIO, the mode after reset and the
// one pcnet32 keeps for this chip, and 32-bit DWIO. RESET (WIO 0x14, DWIO 0x18) resets the chip
// when READ; iotime never touches it.
constexpr uint16_t kWioRdp = 0x10, kWioRap = 0x12;
constexpr uint16_t kDwioRdp = 0x10, kDwioRap = 0x14;
constexpr uint16_t kCsr88 = 88;  // chip ID, low 16 bits; read-only
constexpr uint32_t kAmdChipIdLow12 = 0x003;  // CSR88[11:0]: AMD's manufacturer ID, bit 0 set

[[noreturn]] void fail(int status, const std::string& message) {
    fprintf(stderr, "iotime: %s\n", message.c_str());
    exit(status);
}

const char kUsage[] =
    "usage: iotime [--unbind] [-n N] [--batch B] [--kv|--json]\n"
    "       iotime --port P [--width 1|2|4] [--value V] [-n N] [--batch B] [--kv|--json]\n"
    "Times one OUT to the PCnet NIC's RDP (RAP=88, a read-only CSR), one RAP write and one RDP\n"
    "read from guest userspace (ioperm + RDTSC; TSC rate from the kernel log). pcnet32 uses the\n"
    "same registers: the NIC's interface must be down or its driver unbound, or pass --unbind\n"
    "(iotime unbinds pcnet32 for the run and binds it again after). With --port, times IN and\n"
    "OUT of WIDTH bytes (OUT writes V) to port P instead. -n: accesses per kind (20000);\n"
    "--batch: accesses per timed batch (100); --kv: key=value lines; --json: one JSON object.\n"
    "Exit status: 0 measured, 1 could not measure, 2 bad arguments.\n";

// ---- the TSC rate ---------------------------------------------------------------------------------

std::string kernel_log() {
    int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0);
    if (size > 0) {
        std::string buf(static_cast<size_t>(size), '\0');
        int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf.data(), size);
        if (n > 0) return buf.substr(0, static_cast<size_t>(n));
    }
    // /dev/kmsg: one record per read(); O_NONBLOCK ends the loop with EAGAIN at the end.
    std::string out;
    int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return out;
    char rec[8192];
    for (;;) {
        ssize_t n = read(fd, rec, sizeof rec);
        if (n > 0) {
            out.append(rec, static_cast<size_t>(n));
            if (out.back() != '\n') out += '\n';
        } else if (n < 0 && errno == EPIPE) {
            continue;  // a record was overwritten while we read; go on with the next
        } else {
            break;
        }
    }
    close(fd);
    return out;
}

TscRate tsc_rate() {
    if (auto r = parse_tsc_from_log(kernel_log())) {
        r->source = "kernel log: " + r->source;
        return *r;
    }
    const char* khz_file = "/sys/devices/system/cpu/cpu0/tsc_freq_khz";
    if (auto text = read_file(khz_file)) {
        while (!text->empty() && text->back() == '\n') text->pop_back();
        if (auto khz = parse_number(*text); khz && *khz > 0)
            return TscRate{static_cast<double>(*khz) / 1000.0, khz_file};
    }
    fail(1, "no TSC rate: the kernel log has no 'tsc: Refined TSC clocksource calibration' or "
            "'tsc: Detected ... MHz' line and there is no /sys/devices/system/cpu/cpu0/tsc_freq_khz");
}

// ---- timing ----------------------------------------------------------------------------------------

// Cycles per access, one value per batch; one batch first as warm-up (caches, the VMM's first-time
// paths), not counted.
template <typename Access>
std::vector<double> time_batches(const Options& o, bool rdtscp, Access access) {
    long batches = o.iterations / o.batch;
    for (long i = 0; i < o.batch; ++i) access();
    std::vector<double> per_access;
    per_access.reserve(static_cast<size_t>(batches));
    for (long b = 0; b < batches; ++b) {
        uint64_t t0 = tsc_begin();
        for (long i = 0; i < o.batch; ++i) access();
        uint64_t t1 = tsc_end(rdtscp);
        per_access.push_back(static_cast<double>(t1 - t0) / static_cast<double>(o.batch));
    }
    return per_access;
}

struct Result {
    const char* key;   // machine name
    std::string what;  // human description
    BatchStats stats;
};

// ---- output ----------------------------------------------------------------------------------------

struct Report {
    std::string mode;  // "pcnet" or "port"
    std::string device, io_mode, note;
    uint16_t port = 0;
    uint64_t io_end = 0;
    int width = 0;
    uint32_t chip_id_low = 0;
    TscRate tsc;
    bool rdtscp = false;
    long batch = 0;
    std::vector<Result> results;
};

double ns(double cycles, double mhz) { return cycles * 1000.0 / mhz; }

const BatchStats* find(const Report& r, const char* key) {
    for (const auto& x : r.results)
        if (strcmp(x.key, key) == 0) return &x.stats;
    return nullptr;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

void print_text(const Report& r) {
    if (r.mode == "pcnet") {
        printf("iotime: PCnet-PCI II (1022:2000) at %s, I/O 0x%04x-0x%04llx, %s, CSR88 0x%04x%s%s\n",
               r.device.c_str(), r.port, static_cast<unsigned long long>(r.io_end), r.io_mode.c_str(),
               r.chip_id_low, r.note.empty() ? "" : "; ", r.note.c_str());
    } else {
        printf("iotime: port 0x%04x, %d-byte accesses\n", r.port, r.width);
    }
    printf("iotime: TSC %.3f MHz (%s); %s\n", r.tsc.mhz, r.tsc.source.c_str(),
           r.rdtscp ? "LFENCE;RDTSC ... RDTSCP;LFENCE" : "LFENCE;RDTSC;LFENCE both ends (no RDTSCP)");
    printf("iotime: per access, median over batches of %ld (mean over all, fastest batch):\n", r.batch);
    for (const auto& x : r.results) {
        const auto& s = x.stats;
        printf("  %-10s %-36s %7ld x  median %10.0f cycles = %9.3f us  (mean %.3f us, min %.3f us)\n",
               x.key, x.what.c_str(), s.iterations, s.median_cycles,
               ns(s.median_cycles, r.tsc.mhz) / 1000.0, ns(s.mean_cycles, r.tsc.mhz) / 1000.0,
               ns(s.min_cycles, r.tsc.mhz) / 1000.0);
    }
    const BatchStats* out = find(r, "out");
    const BatchStats* rap = find(r, "rap_write");
    if (out && rap && out->median_cycles > 0) {
        printf("iotime: rap_write/out = %.3f (1 = a RAP write exits like any OUT; near 0 = it does not)\n",
               rap->median_cycles / out->median_cycles);
    }
    if (r.mode == "pcnet") {
        printf("iotime: the paper (ATC 2001, VMware Workstation on a 733 MHz PIII): 31.63 us per OUT "
               "to the NIC, 30.65 us of it world switch\n");
    }
}

void print_kv(const Report& r) {
    printf("mode=%s\n", r.mode.c_str());
    if (r.mode == "pcnet") {
        printf("device=%s\nio_base=0x%04x\nio_end=0x%04llx\nio_mode=%s\nchip_id_low=0x%04x\n",
               r.device.c_str(), r.port, static_cast<unsigned long long>(r.io_end),
               r.io_mode.c_str(), r.chip_id_low);
        printf("driver_note=%s\n", r.note.c_str());
    } else {
        printf("port=0x%04x\nwidth=%d\n", r.port, r.width);
    }
    printf("tsc_mhz=%.3f\ntsc_source=%s\nrdtscp=%d\nbatch=%ld\n", r.tsc.mhz, r.tsc.source.c_str(),
           r.rdtscp ? 1 : 0, r.batch);
    for (const auto& x : r.results) {
        const auto& s = x.stats;
        printf("%s_iterations=%ld\n%s_mean_cycles=%.1f\n%s_median_cycles=%.1f\n%s_min_cycles=%.1f\n"
               "%s_ns=%.1f\n%s_mean_ns=%.1f\n",
               x.key, s.iterations, x.key, s.mean_cycles, x.key, s.median_cycles, x.key,
               s.min_cycles, x.key, ns(s.median_cycles, r.tsc.mhz), x.key,
               ns(s.mean_cycles, r.tsc.mhz));
    }
}

void print_json(const Report& r) {
    printf("{\"mode\": %s", json_string(r.mode).c_str());
    if (r.mode == "pcnet") {
        printf(", \"device\": %s, \"io_base\": %u, \"io_end\": %llu, \"io_mode\": %s, "
               "\"chip_id_low\": %u, \"driver_note\": %s",
               json_string(r.device).c_str(), r.port, static_cast<unsigned long long>(r.io_end),
               json_string(r.io_mode).c_str(), r.chip_id_low, json_string(r.note).c_str());
    } else {
        printf(", \"port\": %u, \"width\": %d", r.port, r.width);
    }
    printf(", \"tsc_mhz\": %.3f, \"tsc_source\": %s, \"rdtscp\": %s, \"batch\": %ld", r.tsc.mhz,
           json_string(r.tsc.source).c_str(), r.rdtscp ? "true" : "false", r.batch);
    for (const auto& x : r.results) {
        const auto& s = x.stats;
        printf(", %s: {\"what\": %s, \"iterations\": %ld, \"mean_cycles\": %.1f, "
               "\"median_cycles\": %.1f, \"min_cycles\": %.1f, \"ns\": %.1f, \"mean_ns\": %.1f}",
               json_string(x.key).c_str(), json_string(x.what).c_str(), s.iterations,
               s.mean_cycles, s.median_cycles, s.min_cycles, ns(s.median_cycles, r.tsc.mhz),
               ns(s.mean_cycles, r.tsc.mhz));
    }
    printf("}\n");
}

void print(const Options& o, const Report& r) {
    switch (o.format) {
        case Format::kText: print_text(r); break;
        case Format::kKeyValue: print_kv(r); break;
        case Format::kJson: print_json(r); break;
    }
}

// An empty batch: what the loop and the counter reads cost per access, for the reader to judge
// the other figures against (not subtracted from them).
void add_overhead(const Options& o, bool rdtscp, Report* r) {
    auto nothing = [] { asm volatile("" ::: "memory"); };
    r->results.push_back({"loop", "no access (timing overhead)",
                          summarize(time_batches(o, rdtscp, nothing), o.batch)});
}

// ---- the two modes ---------------------------------------------------------------------------------

int run_port(const Options& o, Report* r) {
    r->mode = "port";
    r->port = *o.port;
    r->width = o.width;
    if (ioperm(*o.port, static_cast<unsigned long>(o.width), 1) != 0)
        fail(1, "ioperm on port " + std::to_string(*o.port) + " failed: " + strerror(errno) + " (not root?)");
    uint16_t port = *o.port;
    int width = o.width;
    uint32_t value = o.value;
    r->results.push_back({"out", "OUT", summarize(time_batches(o, r->rdtscp, [&] {
                                            out_width(port, width, value);
                                        }), o.batch)});
    r->results.push_back({"in", "IN", summarize(time_batches(o, r->rdtscp, [&] {
                                          (void)in_width(port, width);
                                      }), o.batch)});
    add_overhead(o, r->rdtscp, r);
    ioperm(*o.port, static_cast<unsigned long>(o.width), 0);
    return 0;
}

int run_pcnet(const Options& o, Report* r) {
    r->mode = "pcnet";
    std::string error;
    auto dev = find_pcnet(&error);
    if (!dev) fail(1, error);
    r->device = dev->pci_address;
    std::string unbound_driver;
    if (!dev->driver.empty()) {
        if (o.unbind) {
            if (!unbind_driver(*dev, &error)) fail(1, error);
            unbound_driver = dev->driver;
            r->note = dev->driver + " unbound for the run (--unbind), bound again after";
        } else if (dev->interface_up) {
            fail(1, dev->interface + " (" + dev->driver + ") is up and its driver uses RAP/RDP too: "
                    "'ip link set " + dev->interface + " down' first, or run iotime --unbind");
        } else {
            r->note = dev->driver + " bound, " +
                      (dev->interface.empty() ? "no interface" : dev->interface + " down");
        }
    } else {
        r->note = "no driver bound";
    }
    bool enabled_here = false;
    if (!ensure_io_decoding(*dev, &error, &enabled_here)) fail(1, error);

    const uint16_t base = static_cast<uint16_t>(dev->bar0.start);
    r->port = base;
    r->io_end = dev->bar0.end;
    if (ioperm(base, 0x20, 1) != 0)
        fail(1, std::string("ioperm on the NIC's I/O window failed: ") + strerror(errno) + " (root?)");

    // Which I/O mode the chip is in, the way the datasheet allows without side effects: in WIO a
    // 16-bit RAP reads back what was written; only if it does not, try DWIO's 32-bit RAP (a 32-bit
    // access at 0x14 in WIO mode would READ RESET).
    bool dwio;
    out16(base + kWioRap, kCsr88);
    if (in16(base + kWioRap) == kCsr88) {
        dwio = false;
    } else {
        out32(base + kDwioRap, kCsr88);
        if ((in32(base + kDwioRap) & 0xffff) != kCsr88)
            fail(1, "the NIC's RAP does not read back in WIO or DWIO mode: not a PCnet chip?");
        dwio = true;
    }
    r->io_mode = dwio ? "DWIO (32-bit)" : "WIO (16-bit)";
    const uint16_t rdp = base + (dwio ? kDwioRdp : kWioRdp);
    const uint16_t rap = base + (dwio ? kDwioRap : kWioRap);
    r->chip_id_low = dwio ? (in32(rdp) & 0xffff) : in16(rdp);
    if ((r->chip_id_low & 0xfff) != kAmdChipIdLow12) {
        char buf[96];
        snprintf(buf, sizeof buf, "CSR88 reads 0x%04x, not an AMD chip ID (low 12 bits 0x003)",
                 r->chip_id_low);
        fail(1, buf);
    }

    // The OUT writes CSR88's own value back: read-only, so nothing changes whatever the value.
    const uint32_t same = r->chip_id_low;
    if (dwio) {
        r->results.push_back({"out", "OUT RDP, RAP=88 (CSR88 read-only)",
                              summarize(time_batches(o, r->rdtscp, [&] { out32(rdp, same); }), o.batch)});
        r->results.push_back({"rap_write", "OUT RAP=88",
                              summarize(time_batches(o, r->rdtscp, [&] { out32(rap, kCsr88); }), o.batch)});
        r->results.push_back({"rdp_read", "IN RDP, RAP=88",
                              summarize(time_batches(o, r->rdtscp, [&] { (void)in32(rdp); }), o.batch)});
    } else {
        r->results.push_back({"out", "OUT RDP, RAP=88 (CSR88 read-only)",
                              summarize(time_batches(o, r->rdtscp, [&] { out16(rdp, same); }), o.batch)});
        r->results.push_back({"rap_write", "OUT RAP=88",
                              summarize(time_batches(o, r->rdtscp, [&] { out16(rap, kCsr88); }), o.batch)});
        r->results.push_back({"rdp_read", "IN RDP, RAP=88",
                              summarize(time_batches(o, r->rdtscp, [&] { (void)in16(rdp); }), o.batch)});
    }
    add_overhead(o, r->rdtscp, r);

    // RAP back to 0 (CSR0), where the chip's reset leaves it and where a driver expects nothing else.
    if (dwio) out32(rap, 0);
    else out16(rap, 0);
    ioperm(base, 0x20, 0);
    if (enabled_here) disable_device(*dev);
    if (!unbound_driver.empty() && !rebind_driver(*dev, unbound_driver, &error)) {
        r->note = unbound_driver + " unbound for the run (--unbind); binding it again FAILED: " + error;
        print(o, *r);
        return 1;
    }
    return 0;
}

}  // namespace
}  // namespace iotime

int main(int argc, char** argv) {
    using namespace iotime;
    std::string error;
    auto opts = parse_options(std::vector<std::string>(argv + 1, argv + argc), &error);
    if (!opts) fail(2, error);
    if (opts->help) {
        fputs(kUsage, stdout);
        return 0;
    }
    Report report;
    report.tsc = tsc_rate();
    report.rdtscp = have_rdtscp();
    report.batch = opts->batch;
    int status = opts->port ? run_port(*opts, &report) : run_pcnet(*opts, &report);
    if (status == 0) print(*opts, report);
    return status;
}
