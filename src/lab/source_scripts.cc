#include "lab/source_scripts.h"

#include <fcntl.h>
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

// `bash SCRIPT ARGS...` as execvp wants it: words owns the strings the pointers point into.
struct BashCommand {
    BashCommand(const std::string& script, const std::vector<std::string>& args)
        : words{"bash", script} {
        words.insert(words.end(), args.begin(), args.end());
        for (auto& word : words) {
            argv.push_back(word.data());
        }
        argv.push_back(nullptr);
    }
    std::vector<std::string> words;
    std::vector<char*> argv;
};

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
    BashCommand command(script, args);
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
        ::execvp("bash", command.argv.data());
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

Result<std::string> capture_script_output(const std::string& script,
                                          const std::vector<std::string>& args) {
    BashCommand command(script, args);
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return fail_errno("cannot run {}", script);
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        return fail_errno("cannot run {}", script);
    }
    if (pid == 0) {
        const int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, STDIN_FILENO);
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::execvp("bash", command.argv.data());
        ::_exit(127);
    }
    ::close(pipe_fds[1]);
    std::string output;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(pipe_fds[0], buffer, sizeof(buffer));
        if (n > 0) {
            output.append(buffer, static_cast<size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return fail("{} failed (status {})", script,
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    return output;
}

}  // namespace hvmm::lab
