// The seccomp sandbox, in a child process per case (a filter cannot be taken off a thread): what
// each role may call runs, what it may not stops the process with status 122 and one line that
// names the role and the call.
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kvm/uapi_layout.h"
#include "sandbox/seccomp_sandbox.h"
#include "sandbox/syscall_allowlist.h"
#include "sandbox_child.h"

namespace hvmm::sandbox {
namespace {

TEST(SandboxSeccomp, EveryRoleStopsAForbiddenCallAndNamesRoleAndCall) {
    for (const ThreadRole role : kAllRoles) {
        const auto result = run_sandboxed(role, {}, [] { ::syscall(SYS_ptrace, -1L, 0L, 0L, 0L); });
        EXPECT_EQ(result.status, kExitStatusSandboxViolation) << role_name(role);
        EXPECT_EQ(result.err, "hvmm: sandbox: the " + std::string(role_name(role)) +
                                  " thread called ptrace, which its role does not allow; "
                                  "stopping (exit status 122)\n");
    }
}

TEST(SandboxSeccomp, AllowedCallsRunNormally) {
    const auto result = run_sandboxed(ThreadRole::kVcpu, {}, [] {
        void* page =
            ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED || ::munmap(page, 4096) != 0 || ::getpid() <= 0)
            ::_exit(3);
        std::string grown(1 << 20, 'x');  // malloc's own mappings
        if (::write(STDERR_FILENO, "ok", 2) != 2)
            ::_exit(4);
    });
    EXPECT_EQ(result.status, 0) << result.err;
    EXPECT_EQ(result.err, "ok");
}

TEST(SandboxSeccomp, AnIoctlOutsideTheRolesRequestsIsNamedWithItsNumber) {
    const auto result = run_sandboxed(ThreadRole::kConsole, {}, [] { ::ioctl(0, KVM_RUN, 0); });
    EXPECT_EQ(result.status, kExitStatusSandboxViolation);
    EXPECT_NE(result.err.find("the console thread called ioctl 0xae80,"), std::string::npos)
        << result.err;
}

TEST(SandboxSeccomp, TheVcpuMayRunKvmButNotCreateVms) {
    // KVM_RUN on a bad fd fails with EBADF, inside the rules; KVM_CREATE_VM is not a vCPU's.
    const auto allowed = run_sandboxed(ThreadRole::kVcpu, {}, [] {
        if (::ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
            ::_exit(3);
    });
    EXPECT_EQ(allowed.status, 0) << allowed.err;
    const auto refused =
        run_sandboxed(ThreadRole::kVcpu, {}, [] { ::ioctl(-1, KVM_CREATE_VM, 0); });
    EXPECT_EQ(refused.status, kExitStatusSandboxViolation);
}

TEST(SandboxSeccomp, EveryIoctlARoleListsPassesItsFilter) {
    // Each request a role lists, on a bad fd: the kernel's EBADF, not the sandbox's trap.
    const SandboxNeeds everything{.user_network = true, .vhost = true, .tap = true};
    for (const ThreadRole role : kAllRoles) {
        std::vector<unsigned long> requests;
        for (const SyscallRule& rule : allowlist(role, everything)) {
            if (rule.number == SYS_ioctl && rule.conditions.size() == 1)
                requests.push_back(rule.conditions[0].value);
        }
        ASSERT_FALSE(requests.empty()) << role_name(role);
        const auto result = run_sandboxed(role, everything, [&] {
            for (const unsigned long request : requests) {
                if (::ioctl(-1, request, 0) != -1 || errno != EBADF)
                    ::_exit(3);
            }
        });
        EXPECT_EQ(result.status, 0) << role_name(role) << ": " << result.err;
    }
}

TEST(SandboxSeccomp, TheVcpuMayReplaceTheMsiRoutes) {
    // KVM_SET_GSI_ROUTING as the MSI-X table's writes make it (a vCPU's exit).
    // The number the kvm layer really uses (not <linux/kvm.h>'s, which C++ sizes differently).
    const auto result = run_sandboxed(ThreadRole::kVcpu, {.vhost = true, .tap = true}, [] {
        if (::ioctl(-1, kvm::uapi::kSetGsiRouting, 0) != -1 || errno != EBADF)
            ::_exit(3);
    });
    EXPECT_EQ(result.status, 0) << result.err;
}

TEST(SandboxSeccomp, NoRoleMapsExecutableMemory) {
    for (const ThreadRole role : kAllRoles) {
        const auto result = run_sandboxed(role, {}, [] {
            ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        });
        EXPECT_EQ(result.status, kExitStatusSandboxViolation) << role_name(role);
        EXPECT_NE(result.err.find("called mmap"), std::string::npos) << result.err;
    }
}

TEST(SandboxSeccomp, UserNetworkSocketsOnlyWhenTheRunHasAUserNetwork) {
    auto inet_socket = [] {
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0)
            ::_exit(3);
        ::close(fd);
    };
    EXPECT_EQ(run_sandboxed(ThreadRole::kVcpu, {.user_network = true}, inet_socket).status, 0);
    EXPECT_EQ(run_sandboxed(ThreadRole::kVcpu, {}, inet_socket).status,
              kExitStatusSandboxViolation);
    // Not even with it: a vCPU has no business with Unix sockets or netlink.
    EXPECT_EQ(run_sandboxed(ThreadRole::kVcpu, {.user_network = true},
                            [] { ::socket(AF_NETLINK, SOCK_RAW, 0); })
                  .status,
              kExitStatusSandboxViolation);
}

TEST(SandboxSeccomp, TheUserNetworkReadsFilesButNeverWritesOne) {
    const SandboxNeeds needs{.user_network = true};
    const auto read_only = run_sandboxed(ThreadRole::kIo, needs, [] {
        const int fd = ::open("/etc/hostname", O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            ::close(fd);
    });
    EXPECT_EQ(read_only.status, 0) << read_only.err;
    for (const int flags : {O_WRONLY, O_RDWR, O_RDONLY | O_CREAT, O_RDONLY | O_TRUNC}) {
        const auto writing = run_sandboxed(ThreadRole::kIo, needs, [flags] {
            ::open("/tmp/hvmm-sandbox-test-never-made", flags, 0600);
        });
        EXPECT_EQ(writing.status, kExitStatusSandboxViolation) << flags;
    }
    EXPECT_NE(::access("/tmp/hvmm-sandbox-test-never-made", F_OK), 0);
}

TEST(SandboxSeccomp, NoRoleForksOrExecs) {
    for (const ThreadRole role : kAllRoles) {
        const auto forked = run_sandboxed(role, {.user_network = true, .vhost = true, .tap = true},
                                          [] { ::syscall(SYS_fork); });
        EXPECT_EQ(forked.status, kExitStatusSandboxViolation) << role_name(role);
        const auto executed = run_sandboxed(role, {}, [] {
            const char* argv[] = {"/bin/true", nullptr};
            ::execv("/bin/true", const_cast<char**>(argv));
        });
        EXPECT_EQ(executed.status, kExitStatusSandboxViolation) << role_name(role);
    }
}

TEST(SandboxSeccomp, SignalsStayInsideTheProcess) {
    const auto result = run_sandboxed(ThreadRole::kIo, {}, [] { ::kill(1, 0); });
    EXPECT_EQ(result.status, kExitStatusSandboxViolation);
    const auto other_process =
        run_sandboxed(ThreadRole::kIo, {}, [] { ::syscall(SYS_tgkill, 1, 1, 0); });
    EXPECT_EQ(other_process.status, kExitStatusSandboxViolation);
}

TEST(SandboxSeccomp, WithoutPrepareEnterChangesNothing) {
    // The unit and KVM tests make Machines in-process: their threads must stay unfiltered.
    const pid_t child = ::fork();
    if (child == 0) {
        if (!enter(ThreadRole::kConsole))
            ::_exit(3);
        ::_exit(::syscall(SYS_getppid) > 0 && ::fork() >= 0 ? 0 : 4);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(SandboxAllowlist, RolesListTheirCallsByName) {
    const auto vcpu = allowed_call_names(ThreadRole::kVcpu, {});
    EXPECT_TRUE(std::is_sorted(vcpu.begin(), vcpu.end()));
    EXPECT_NE(std::find(vcpu.begin(), vcpu.end(), "ioctl"), vcpu.end());
    EXPECT_EQ(std::find(vcpu.begin(), vcpu.end(), "openat"), vcpu.end());
    EXPECT_EQ(std::find(vcpu.begin(), vcpu.end(), "socket"), vcpu.end());
    const auto console = allowed_call_names(ThreadRole::kConsole, {});
    EXPECT_LT(console.size(), vcpu.size());
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    // (The sanitizer builds' runtimes read their own pipes from any thread.)
    EXPECT_EQ(std::find(console.begin(), console.end(), "read"), console.end());
#endif
    const auto vcpu_user = allowed_call_names(ThreadRole::kVcpu, {.user_network = true});
    EXPECT_NE(std::find(vcpu_user.begin(), vcpu_user.end(), "socket"), vcpu_user.end());
    for (const ThreadRole role : kAllRoles) {
        const auto names =
            allowed_call_names(role, {.user_network = true, .vhost = true, .tap = true});
        for (const char* never :
             {"execve", "execveat", "fork", "vfork", "clone", "clone3", "ptrace", "kill", "setuid",
              "capset", "mount", "init_module", "bpf", "process_vm_writev", "keyctl"}) {
            EXPECT_EQ(std::find(names.begin(), names.end(), never), names.end())
                << role_name(role) << " allows " << never;
        }
    }
}

TEST(SandboxRoles, NamesParseBack) {
    for (const ThreadRole role : kAllRoles) {
        EXPECT_EQ(parse_role(role_name(role)), role);
    }
    EXPECT_FALSE(parse_role("hypervisor").has_value());
}

}  // namespace
}  // namespace hvmm::sandbox
