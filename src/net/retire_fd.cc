#include "net/retire_fd.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace hvmm::net {

bool retire_fd(int fd) {
    const int inert = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (inert < 0) {
        return false;
    }
    const bool replaced = ::dup3(inert, fd, O_CLOEXEC) == fd;
    ::close(inert);
    return replaced;
}

}  // namespace hvmm::net
