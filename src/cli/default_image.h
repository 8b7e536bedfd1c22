// Where `hvmm run` finds its kernel and initrd when none are given: the default guest image that
// guest/build-image.sh builds into ${HVMM_CACHE:-$HOME/.cache/hvmm}/guest/.
#pragma once

#include <string>

#include "base/error.h"

namespace hvmm::cli {

struct DefaultImage {
    std::string kernel_path;  // .../guest/vmlinuz
    std::string initrd_path;  // .../guest/initrd.img
    // .../guest/vmlinux: vmlinuz's kernel decompressed by the image builder, so a boot of the
    // default image skips the guest's decompressor (boot/linux_loader.h).
    std::string vmlinux_path;
};

// The paths, whether or not the files exist: under $HVMM_CACHE, else $HOME/.cache/hvmm, else the
// user's home from the password database (as guest/lib/common.sh does).
Result<DefaultImage> default_image_paths();

// The message for a default image that is not there: names the path and how to build it.
std::string missing_default_image_message(const std::string& missing_path);

}  // namespace hvmm::cli
