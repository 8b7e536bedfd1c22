#include "lab/lab_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

namespace hvmm::lab {
namespace {

namespace fs = std::filesystem;

// The hvmm binary itself, resolved, so the lab carries the very binary that is running.
std::string self_path() {
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    return error ? std::string("/proc/self/exe") : self.string();
}

// lab/ and guest/ scripts: from the source tree CMake named, else beside an installed binary
// (BIN/../share/hvmm/lab) or in a build tree inside the source tree (BIN/../lab).
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

pid_t child_pid = -1;

// Passes SIGINT/SIGTERM on to the runner, which stops QEMU and cleans up before it exits.
void forward_signal(int signal_number) {
    if (child_pid > 0) {
        ::kill(child_pid, signal_number);
    }
}

// Runs `bash SCRIPT ARGS...` and waits for it; its exit status is ours.
int spawn_and_wait(const std::string& script, const std::vector<std::string>& args) {
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
    struct sigaction old_int {}, old_term {};
    ::sigaction(SIGINT, &forward, &old_int);
    ::sigaction(SIGTERM, &forward, &old_term);

    const pid_t pid = ::fork();
    if (pid < 0) {
        fmt::print(stderr, "hvmm lab: cannot start {}: {}\n", script, std::strerror(errno));
        return 1;
    }
    if (pid == 0) {
        ::sigaction(SIGINT, &old_int, nullptr);
        ::sigaction(SIGTERM, &old_term, nullptr);
        ::execvp("bash", child_argv.data());
        fmt::print(stderr, "hvmm lab: cannot run bash {}: {}\n", script, std::strerror(errno));
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

int run_lab_script(const std::vector<std::string>& args) {
    const std::string runner = find_script("lab/run.sh");
    if (runner.empty()) {
        fmt::print(stderr, "hvmm lab: cannot find lab/run.sh (looked in the source tree and beside {})\n",
                   self_path());
        return 1;
    }
    return spawn_and_wait(runner, args);
}

// Runs `bash SCRIPT ARGS...` with stdin /dev/null and returns what it wrote on stdout; its
// stderr stays ours. A status other than 0 is an error.
Result<std::string> capture_script_output(const std::string& script,
                                          const std::vector<std::string>& args) {
    std::vector<std::string> words{"bash", script};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> child_argv;
    for (auto& word : words) {
        child_argv.push_back(word.data());
    }
    child_argv.push_back(nullptr);
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
        ::execvp("bash", child_argv.data());
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

int usage() {
    fmt::print(stderr,
               "usage: hvmm lab exec [--out DIR] [--with PATH]... [--timeout S] [--mem MB] SCRIPT [ARG...]\n"
               "       hvmm lab run ARG...   (hvmm run ARG... inside the lab)\n"
               "       hvmm lab build\n");
    return 2;
}

}  // namespace

Result<LabDescription> describe_lab() {
    const std::string runner = find_script("lab/run.sh");
    if (runner.empty()) {
        return fail("cannot find lab/run.sh (looked in the source tree and beside {})",
                    self_path());
    }
    return parse_lab_description(HVMM_TRY(capture_script_output(runner, {"--describe"})));
}

int run_in_lab(int argc, char** argv) {
    std::vector<std::string> args{"--hvmm", self_path(), "hvmm"};
    for (int i = 1; i < argc; ++i) {
        args.emplace_back(argv[i]);
    }
    return run_lab_script(args);
}

int lab_command(int argc, char** argv) {
    if (argc < 1) {
        return usage();
    }
    const std::string_view command = argv[0];
    if (command == "run") {
        std::vector<std::string> args{"--hvmm", self_path(), "hvmm", "run"};
        for (int i = 1; i < argc; ++i) {
            args.emplace_back(argv[i]);
        }
        return run_lab_script(args);
    }
    if (command == "exec") {
        std::vector<std::string> args{"--hvmm", self_path()};
        int i = 1;
        // The runner's own options come before the script; everything after it is the script's.
        for (; i < argc && std::string_view(argv[i]).starts_with("--"); ++i) {
            const std::string_view option = argv[i];
            if (option != "--out" && option != "--with" && option != "--timeout" && option != "--mem") {
                fmt::print(stderr, "hvmm lab: unknown exec option {}\n", option);
                return usage();
            }
            if (i + 1 >= argc) {
                fmt::print(stderr, "hvmm lab: {} needs a value\n", option);
                return usage();
            }
            args.emplace_back(argv[i]);
            args.emplace_back(argv[++i]);
        }
        if (i >= argc) {
            return usage();
        }
        args.emplace_back("exec");
        for (; i < argc; ++i) {
            args.emplace_back(argv[i]);
        }
        return run_lab_script(args);
    }
    if (command == "build") {
        const std::string builder = find_script("lab/build-lab.sh");
        if (builder.empty()) {
            fmt::print(stderr, "hvmm lab: cannot find lab/build-lab.sh\n");
            return 1;
        }
        return spawn_and_wait(builder, {});
    }
    fmt::print(stderr, "hvmm lab: unknown command {}\n", command);
    return usage();
}

}  // namespace hvmm::lab
