// Runs a program the way a user or a script would (stdin /dev/null, stdout and stderr captured)
// for tests that check what a command prints and the status it exits with.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace hvmm::test {

struct ProcessResult {
    int status = -1;  // exit status, or 128 + the signal that ended it
    std::string out;
    std::string err;
};

inline std::string read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Runs argv[0] (looked up on PATH) with `environment` set on top of this process's environment
// (an empty value unsets the variable). The output goes through files, not pipes, so a chatty
// child cannot block on a full pipe while we wait for it.
inline ProcessResult run_process(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& environment = {}) {
    char out_path[] = "/tmp/hvmm-test-out.XXXXXX";
    char err_path[] = "/tmp/hvmm-test-err.XXXXXX";
    const int out_fd = ::mkstemp(out_path);
    const int err_fd = ::mkstemp(err_path);
    ProcessResult result;
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        for (const auto& [name, value] : environment) {
            if (value.empty()) {
                ::unsetenv(name.c_str());
            } else {
                ::setenv(name.c_str(), value.c_str(), 1);
            }
        }
        std::vector<char*> args;
        for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    int status = 0;
    if (pid > 0 && ::waitpid(pid, &status, 0) == pid) {
        result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    ::close(out_fd);
    ::close(err_fd);
    result.out = read_whole_file(out_path);
    result.err = read_whole_file(err_path);
    std::remove(out_path);
    std::remove(err_path);
    return result;
}

}  // namespace hvmm::test
