// The lab as `lab/run.sh --describe` reports it (one key=value a line), put into the one line
// `hvmm doctor` prints. run.sh is the single source of truth: this only parses and formats.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace hvmm::lab {

using LabDescription = std::map<std::string, std::string, std::less<>>;

// key=value lines; lines without '=' are ignored, a later key replaces an earlier one.
LabDescription parse_lab_description(std::string_view text);

// "lab: QEMU 10.0.2 (/usr/bin/qemu-system-x86_64), TCG, 2 CPUs, EPYC with SVM, 2048 MiB; image
// cached in /root/.cache/hvmm/lab (built)", or with the emulator's absence in its place.
std::string format_lab_line(const LabDescription& lab);

}  // namespace hvmm::lab
