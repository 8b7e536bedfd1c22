// What a backend does with an fd whose host side is gone (a deleted TAP, a closed peer): such an
// fd reports EPOLLERR/EPOLLHUP forever, and a level-triggered event loop watching it would spin.
#pragma once

namespace hvmm::net {

// Puts an eventfd that never becomes readable in fd's place (dup3 onto the same number). The
// old file's last reference closes, so epoll drops its registration and stops waking; the number
// stays taken, so the event loop's bookkeeping for it stays valid and nothing else reuses it.
// Returns false if no eventfd could be made (fd is then left as it was).
bool retire_fd(int fd);

}  // namespace hvmm::net
