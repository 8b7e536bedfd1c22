#include "parse.h"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace iotime {

std::optional<uint64_t> parse_number(std::string_view s) {
    if (s.empty() || s.size() > 20 || s[0] == '-' || s[0] == '+' || s[0] == ' ') return std::nullopt;
    std::string copy(s);
    char* end = nullptr;
    errno = 0;
    unsigned long long v = strtoull(copy.c_str(), &end, 0);
    if (errno != 0 || end == copy.c_str() || *end != '\0') return std::nullopt;
    return v;
}

namespace {

// --name VALUE or --name=VALUE; advances i past what it used.
bool take_value(const std::vector<std::string>& args, size_t& i, std::string_view name,
                std::string* value, std::string* error) {
    const std::string& a = args[i];
    if (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=') {
        *value = a.substr(name.size() + 1);
        return true;
    }
    if (i + 1 >= args.size()) {
        *error = std::string(name) + " needs a value";
        return false;
    }
    *value = args[++i];
    return true;
}

bool is_option(const std::string& a, std::string_view name) {
    return a == name || (a.size() > name.size() && a.compare(0, name.size(), name) == 0 &&
                         a[name.size()] == '=');
}

}  // namespace

std::optional<Options> parse_options(const std::vector<std::string>& args, std::string* error) {
    Options o;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        std::string v;
        if (a == "-h" || a == "--help") {
            o.help = true;
        } else if (a == "--unbind") {
            o.unbind = true;
        } else if (a == "--json") {
            o.format = Format::kJson;
        } else if (a == "--kv") {
            o.format = Format::kKeyValue;
        } else if (is_option(a, "-n") || is_option(a, "--iterations")) {
            if (!take_value(args, i, a[1] == 'n' ? "-n" : "--iterations", &v, error)) return {};
            auto n = parse_number(v);
            if (!n || *n < 1 || *n > 100000000) {
                *error = "iterations must be 1..100000000, not '" + v + "'";
                return {};
            }
            o.iterations = static_cast<long>(*n);
        } else if (is_option(a, "--batch")) {
            if (!take_value(args, i, "--batch", &v, error)) return {};
            auto n = parse_number(v);
            if (!n || *n < 1 || *n > 1000000) {
                *error = "batch must be 1..1000000, not '" + v + "'";
                return {};
            }
            o.batch = static_cast<long>(*n);
        } else if (is_option(a, "--port")) {
            if (!take_value(args, i, "--port", &v, error)) return {};
            auto n = parse_number(v);
            if (!n || *n > 0xffff) {
                *error = "port must be 0..0xffff, not '" + v + "'";
                return {};
            }
            o.port = static_cast<uint16_t>(*n);
        } else if (is_option(a, "--width")) {
            if (!take_value(args, i, "--width", &v, error)) return {};
            if (v != "1" && v != "2" && v != "4") {
                *error = "width must be 1, 2 or 4 (bytes), not '" + v + "'";
                return {};
            }
            o.width = v[0] - '0';
        } else if (is_option(a, "--value")) {
            if (!take_value(args, i, "--value", &v, error)) return {};
            auto n = parse_number(v);
            if (!n || *n > 0xffffffffu) {
                *error = "value must be 0..0xffffffff, not '" + v + "'";
                return {};
            }
            o.value = static_cast<uint32_t>(*n);
        } else {
            *error = "unknown argument '" + a + "' (try --help)";
            return {};
        }
    }
    if (o.iterations < o.batch) o.batch = o.iterations;
    if (o.port && o.unbind) {
        *error = "--unbind is for the PCnet NIC; it does not go with --port";
        return {};
    }
    if (o.port && (*o.port % o.width) != 0) {
        *error = "port " + std::to_string(*o.port) + " is not aligned to width " +
                 std::to_string(o.width);
        return {};
    }
    return o;
}

std::optional<IoRange> parse_bar0_io(std::string_view file) {
    std::string_view line = file.substr(0, file.find('\n'));
    uint64_t f[3];
    for (int k = 0; k < 3; ++k) {
        while (!line.empty() && line[0] == ' ') line.remove_prefix(1);
        size_t sp = line.find(' ');
        auto n = parse_number(line.substr(0, sp));
        if (!n) return std::nullopt;
        f[k] = *n;
        line = sp == std::string_view::npos ? std::string_view() : line.substr(sp);
    }
    constexpr uint64_t kIoResourceIo = 0x100;  // include/linux/ioport.h
    if (!(f[2] & kIoResourceIo) || f[1] <= f[0] || f[1] > 0xffff) return std::nullopt;
    return IoRange{f[0], f[1]};
}

namespace {

// The number just before " MHz" in line, if any.
std::optional<double> mhz_in(std::string_view line) {
    size_t at = line.find(" MHz");
    if (at == std::string_view::npos) return std::nullopt;
    size_t start = at;
    while (start > 0 && (isdigit(static_cast<unsigned char>(line[start - 1])) || line[start - 1] == '.'))
        --start;
    if (start == at) return std::nullopt;
    std::string num(line.substr(start, at - start));
    char* end = nullptr;
    double v = strtod(num.c_str(), &end);
    if (*end != '\0' || v <= 0) return std::nullopt;
    return v;
}

// The message part of a log line: after "] " (syslog with timestamps) or ";" (/dev/kmsg).
std::string_view message_of(std::string_view line) {
    size_t b = line.find("] ");
    if (b != std::string_view::npos && b < 40) return line.substr(b + 2);
    size_t s = line.find(';');
    if (s != std::string_view::npos && s < 40) return line.substr(s + 1);
    return line;
}

}  // namespace

std::optional<TscRate> parse_tsc_from_log(std::string_view log) {
    std::optional<TscRate> refined, detected;
    while (!log.empty()) {
        size_t nl = log.find('\n');
        std::string_view line = log.substr(0, nl);
        log = nl == std::string_view::npos ? std::string_view() : log.substr(nl + 1);
        std::string_view msg = message_of(line);
        while (!msg.empty() && msg.back() == '\r') msg.remove_suffix(1);
        if (msg.find("tsc: Refined TSC clocksource calibration") != std::string_view::npos) {
            if (auto v = mhz_in(msg)) refined = TscRate{*v, std::string(msg)};
        } else if (msg.find("tsc: Detected ") != std::string_view::npos &&
                   (msg.find(" MHz processor") != std::string_view::npos ||
                    msg.find(" MHz TSC") != std::string_view::npos)) {
            if (auto v = mhz_in(msg)) detected = TscRate{*v, std::string(msg)};
        }
    }
    return refined ? refined : detected;
}

BatchStats summarize(std::vector<double> per_access, long batch) {
    BatchStats s;
    if (per_access.empty()) return s;
    double sum = 0;
    for (double v : per_access) sum += v;
    s.iterations = static_cast<long>(per_access.size()) * batch;
    s.mean_cycles = sum / static_cast<double>(per_access.size());
    std::sort(per_access.begin(), per_access.end());
    size_t n = per_access.size();
    s.median_cycles = n % 2 ? per_access[n / 2] : (per_access[n / 2 - 1] + per_access[n / 2]) / 2;
    s.min_cycles = per_access.front();
    return s;
}

}  // namespace iotime
