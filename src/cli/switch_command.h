// `hvmm switch start|list|status|stop`: host-only networks (src/vmnet/).
#pragma once

namespace hvmm::cli {

// argv[0] is "switch".
int switch_command(int argc, char** argv);
// argv[0] is "start" (switch_start.cc).
int switch_start(int argc, char** argv);

}  // namespace hvmm::cli
