#include "cli/default_image.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace hvmm::cli {

Result<DefaultImage> default_image_paths() {
    std::string cache;
    if (const char* configured = std::getenv("HVMM_CACHE"); configured && *configured) {
        cache = configured;
    } else if (const char* home = std::getenv("HOME"); home && *home) {
        cache = std::string(home) + "/.cache/hvmm";
    } else if (const passwd* user = ::getpwuid(::getuid()); user && user->pw_dir && *user->pw_dir) {
        // CI may run with no HOME; the image scripts then use the user's home (/root) as well.
        cache = std::string(user->pw_dir) + "/.cache/hvmm";
    } else {
        return fail("cannot find the default guest image: neither HVMM_CACHE nor HOME is set");
    }
    return DefaultImage{cache + "/guest/vmlinuz", cache + "/guest/initrd.img",
                        cache + "/guest/vmlinux"};
}

std::string missing_default_image_message(const std::string& missing_path) {
    return "the default guest image is not built (" + missing_path +
           " is missing): run guest/build-image.sh, or pass --kernel and --initrd";
}

}  // namespace hvmm::cli
