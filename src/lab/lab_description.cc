#include "lab/lab_description.h"

#include <algorithm>
#include <cctype>

#include <fmt/core.h>

namespace hvmm::lab {
namespace {

std::string value_of(const LabDescription& lab, std::string_view key) {
    const auto found = lab.find(key);
    return found == lab.end() ? std::string() : found->second;
}

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

// "QEMU emulator version 10.0.2 (Debian ...)" -> "QEMU 10.0.2"; another first line as it is.
std::string emulator_name(const std::string& version_line) {
    constexpr std::string_view kQemuPrefix = "QEMU emulator version ";
    if (version_line.starts_with(kQemuPrefix)) {
        const std::string rest = version_line.substr(kQemuPrefix.size());
        return "QEMU " + rest.substr(0, rest.find(' '));
    }
    return version_line.empty() ? "an emulator of unknown version" : version_line;
}

// "tcg,thread=multi" -> "TCG": the accelerator, without its options.
std::string accelerator_name(const std::string& accel) {
    return upper(accel.substr(0, accel.find(',')));
}

// QEMU's -cpu value: "EPYC,+svm" -> "EPYC with SVM" (the model, then the features it adds).
std::string cpu_name(const std::string& cpu) {
    std::string name = cpu.substr(0, cpu.find(','));
    std::string added;
    for (size_t start = cpu.find(','); start != std::string::npos;) {
        const size_t end = cpu.find(',', start + 1);
        const std::string part =
            cpu.substr(start + 1, end == std::string::npos ? end : end - start - 1);
        if (part.starts_with('+')) {
            added += (added.empty() ? "" : " and ") + upper(part.substr(1));
        }
        start = end;
    }
    return added.empty() ? name : name + " with " + added;
}

}  // namespace

LabDescription parse_lab_description(std::string_view text) {
    LabDescription lab;
    while (!text.empty()) {
        const size_t newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
        const size_t equals = line.find('=');
        if (equals != std::string_view::npos) {
            lab.insert_or_assign(std::string(line.substr(0, equals)),
                                 std::string(line.substr(equals + 1)));
        }
    }
    return lab;
}

std::string format_lab_line(const LabDescription& lab) {
    const std::string emulator = value_of(lab, "emulator");
    const std::string emulator_part =
        value_of(lab, "emulator_found") == "yes"
            ? fmt::format("{} ({})", emulator_name(value_of(lab, "emulator_version")), emulator)
            : fmt::format("no emulator ({} not found; HVMM_LAB_QEMU names one)", emulator);
    const std::string cpus = value_of(lab, "cpus");
    const bool built = value_of(lab, "image") == "built";
    return fmt::format(
        "lab: {}, {}, {} CPU{}, {}, {} MiB; image cached in {} ({})", emulator_part,
        accelerator_name(value_of(lab, "accel")), cpus, cpus == "1" ? "" : "s",
        cpu_name(value_of(lab, "cpu")), value_of(lab, "mem_mib"), value_of(lab, "cache"),
        built ? "built" : "not built yet: `hvmm lab build`, or the first lab run builds it");
}

}  // namespace hvmm::lab
