// The physical address of a page of this process, for a guest tool that hands its own memory to a
// device (guest/tools/selffeed, virtiofeed): the page must be locked (mlock) and touched first.
#pragma once

#include <stdint.h>

#include <string>

namespace guest_tools {

constexpr uint64_t kPageSize = 4096;

// The tool's way out: says the message and ends the tool (its own clean-up first).
using FailFunction = void (*)(const std::string& message);

// From /proc/self/pagemap (which shows page frame numbers to root only): bits 0-54 are the page
// frame number, bit 63 says present. Calls fail, which must not return, when it cannot tell.
uint64_t physical_address(const void* virt, FailFunction fail);

}  // namespace guest_tools
