#include "lab/source_scripts.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/core.h>

namespace hvmm::lab {
namespace {

namespace fs = std::filesystem;

pid_t child_pid = -1;

// Passes SIGINT/SIGTERM on to the runner, which stops QEMU and cleans up before it exits.
void forward_signal(int signal_number) {
    if (child_pid > 0) {
        ::kill(child_pid, signal_number);
    }
}

}  // namespace

std::string self_path() {
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    return error ? std::string("/proc/self/exe") : self.string();
}

std::string find_script(std::string_view relative) {
    std::vector<fs::path> candidates;
#ifdef HVMM_SOURCE_DIR
    candidates.emplace_back(fs::path(HVMM_SOURCE_DIR) / relative);
#endif
    const fs::path bin_dir = fs::path(self_path()).parent_path();
    candidates.emplace_back(bin_dir / ".." / "share" / "hvmm" / relative);
    candidates.emplace_back(bin_dir / ".." / relative);
    for (const auto& candidate : candidates) {
        std::error_code error;
        if (fs::is_regular_file(candidate, error)) {
            return candidate.lexically_normal().string();
        }
    }
    return {};
}

int spawn_and_wait(std::string_view who, const std::string& script,
                   const std::vector<std::string>& args) {
    std::vector<std::string> words{"bash", script};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> child_argv;
    for (auto& word : words) {
        child_argv.push_back(word.data());
    }
    child_argv.push_back(nullptr);

    struct sigaction forward {};
    forward.sa_handler = forward_signal;
    sigemptyset(&forward.sa_mask);
    struct sigaction old_int {
    }, old_term{};
    ::sigaction(SIGINT, &forward, &old_int);
    ::sigaction(SIGTERM, &forward, &old_term);

    const pid_t pid = ::fork();
    if (pid < 0) {
        fmt::print(stderr, "{}: cannot start {}: {}\n", who, script, std::strerror(errno));
        return 1;
    }
    if (pid == 0) {
        ::sigaction(SIGINT, &old_int, nullptr);
        ::sigaction(SIGTERM, &old_term, nullptr);
        ::execvp("bash", child_argv.data());
        fmt::print(stderr, "{}: cannot run bash {}: {}\n", who, script, std::strerror(errno));
        ::_exit(127);
    }
    child_pid = pid;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            status = 1 << 8;
            break;
        }
    }
    child_pid = -1;
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}

}  // namespace hvmm::lab
