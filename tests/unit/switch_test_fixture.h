// The fixture of the `hvmm switch` end-to-end tests: a temporary XDG_RUNTIME_DIR and
// XDG_CACHE_HOME for the built binary, helpers to start it, read its status and join it as a
// stream client, and every switch a test started killed (by its pid) afterwards.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "subprocess.h"
#include "switch_test_client.h"

namespace hvmm::testing {

using std::chrono::milliseconds;

class SwitchCommand : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/hvmm-switch-test.XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        root_ = pattern;
        std::filesystem::create_directories(root_ + "/run");
        environment_ = {{"XDG_RUNTIME_DIR", root_ + "/run"}, {"XDG_CACHE_HOME", root_ + "/cache"}};
        dir_ = root_ + "/run/hvmm";
    }
    void TearDown() override {
        // Whatever a failed test left running goes, by its own pid.
        for (const auto& name : started_) {
            std::ifstream pid_file(dir_ + "/" + name + ".pid");
            pid_t pid = 0;
            if (pid_file >> pid && pid > 0) {
                ::kill(pid, SIGKILL);
            }
        }
        std::filesystem::remove_all(root_);
    }

    test::ProcessResult hvmm(std::vector<std::string> args) {
        args.insert(args.begin(), HVMM_BINARY);
        return test::run_process(args, environment_);
    }
    void start(const std::string& name, std::vector<std::string> options = {}) {
        options.insert(options.begin(), {"switch", "start", name});
        started_.push_back(name);
        const auto result = hvmm(options);
        ASSERT_EQ(result.status, 0) << result.err;
    }
    nlohmann::json status(const std::string& name) {
        const auto result = hvmm({"switch", "status", name, "--json"});
        EXPECT_EQ(result.status, 0) << result.err;
        return nlohmann::json::parse(result.out, nullptr, false);
    }
    SwitchClient client(const std::string& name) {
        auto connected = SwitchClient::connect(socket(name));
        EXPECT_TRUE(connected.has_value());
        return std::move(*connected);
    }
    std::string socket(const std::string& name) { return dir_ + "/" + name + ".sock"; }
    bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }
    pid_t pid_of(const std::string& name) {
        std::ifstream pid_file(dir_ + "/" + name + ".pid");
        pid_t pid = 0;
        pid_file >> pid;
        return pid;
    }
    // Waits until pid has exited (a zombie counts: its files and lock are already let go; the
    // daemon's parent exited, so whoever adopted it reaps it, in its own time).
    // Bounded only so a daemon that never exits fails the test instead of hanging it: 30 s, far
    // beyond what a loaded CI host needs (a 2 s bound once failed under a load average of 11).
    // True once pid has exited (gone, or a zombie nobody reaped yet).
    static bool wait_dead(pid_t pid) {
        for (int i = 0; i < 1500 && ::kill(pid, 0) == 0; ++i) {
            std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
            std::string pid_field, comm, state;
            if (stat >> pid_field >> comm >> state && state == "Z")
                return true;
            std::this_thread::sleep_for(milliseconds(20));
        }
        return ::kill(pid, 0) != 0;
    }
    static nlohmann::json port_of(const nlohmann::json& status, const std::string& peer_kind,
                                  size_t nth) {
        for (const auto& port : status["ports"]) {
            if (port["kind"] == peer_kind && nth-- == 0)
                return port;
        }
        return nullptr;
    }
    // The status once the switch has seen `ports` stream ports (connections are accepted
    // asynchronously).
    nlohmann::json status_with_ports(const std::string& name, size_t ports) {
        for (int i = 0; i < 1500; ++i) {
            auto s = status(name);
            size_t streams = 0;
            for (const auto& port : s["ports"]) streams += port["kind"] == "stream";
            if (streams == ports)
                return s;
            std::this_thread::sleep_for(milliseconds(20));
        }
        return status(name);
    }

    std::string root_, dir_;
    std::map<std::string, std::string> environment_;
    std::vector<std::string> started_;
};

}  // namespace hvmm::testing
