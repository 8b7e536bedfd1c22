#include "sandbox/seccomp_sandbox.h"

#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string_view>

#include <fmt/core.h>

#include "base/log.h"
#include "base/terminal_raw_mode.h"
#include "sandbox/filesystem_confinement.h"

namespace hvmm::sandbox {
namespace {

std::atomic<bool> g_enabled{false};
std::atomic<bool> g_said_no_landlock{false};
SandboxNeeds g_needs;
// Names of the x86-64 system calls by number, resolved while allocating is still allowed: the
// report is made inside a signal handler.
constexpr int kMaxSyscallNumber = 512;
std::array<const char*, kMaxSyscallNumber> g_syscall_names{};
// The calling thread's role, for the report (-1: not sandboxed).
thread_local int t_role = -1;

// Async-signal-safe line building: no allocation, no stdio.
class LineBuffer {
  public:
    void add(std::string_view text) {
        for (const char c : text) {
            if (length_ < buffer_.size())
                buffer_[length_++] = c;
        }
    }
    void add_number(uint64_t value, unsigned base) {
        char digits[24];
        size_t count = 0;
        do {
            digits[count++] = "0123456789abcdef"[value % base];
            value /= base;
        } while (value != 0 && count < sizeof digits);
        if (base == 16)
            add("0x");
        while (count > 0) add(std::string_view(&digits[--count], 1));
    }
    void write_to_stderr() const { (void)!::write(STDERR_FILENO, buffer_.data(), length_); }

  private:
    std::array<char, 256> buffer_{};
    size_t length_ = 0;
};

void report_violation(int, siginfo_t* info, void* context) {
    const int number = info->si_syscall;
    LineBuffer line;
    line.add("hvmm: sandbox: the ");
    line.add(t_role >= 0 ? role_name(static_cast<ThreadRole>(t_role)) : "unsandboxed");
    line.add(" thread called ");
    if (number >= 0 && number < kMaxSyscallNumber && g_syscall_names[number] != nullptr) {
        line.add(g_syscall_names[number]);
    } else {
        line.add("system call ");
        line.add_number(static_cast<uint64_t>(number), 10);
    }
    const auto* registers = static_cast<const ucontext_t*>(context)->uc_mcontext.gregs;
    if (number == SYS_ioctl) {
        // Which request: the second argument, still in its register.
        line.add(" ");
        line.add_number(static_cast<uint32_t>(registers[REG_RSI]), 16);
    } else if (number == SYS_openat) {
        // Which file: a path in hvmm's own memory (a string it was about to pass the kernel).
        if (const auto* path = reinterpret_cast<const char*>(registers[REG_RSI]); path != nullptr) {
            line.add(" ");
            line.add(std::string_view(path, ::strnlen(path, 96)));
        }
    }
    line.add(", which its role does not allow; stopping (exit status 122)\n");
    line.write_to_stderr();
    restore_terminal_now();
    ::_exit(kExitStatusSandboxViolation);
}

Result<void> install_violation_handler() {
    struct sigaction action {};
    action.sa_sigaction = report_violation;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    if (::sigaction(SIGSYS, &action, nullptr) != 0) {
        return fail_errno("sandbox: cannot install the SIGSYS handler");
    }
    return {};
}

void resolve_syscall_names() {
    for (int number = 0; number < kMaxSyscallNumber; ++number) {
        // Kept for the process's life: the handler reads them.
        g_syscall_names[number] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, number);
    }
}

Result<void> load_filter(ThreadRole role) {
    // Anything not allowed traps into report_violation. Other architectures' calls (int 0x80)
    // are killed by libseccomp's default bad-architecture action.
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_TRAP);
    if (filter == nullptr) {
        return fail("sandbox: cannot make a seccomp filter");
    }
    struct Release {
        scmp_filter_ctx filter;
        ~Release() { seccomp_release(filter); }
    } release{filter};
    // A binary tree over the system call numbers instead of a linear scan: fewer BPF
    // instructions per call the kernel's verdict cache does not cover (ioctl, mmap, socket...).
    seccomp_attr_set(filter, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (const SyscallRule& rule : allowlist(role, g_needs)) {
        std::vector<scmp_arg_cmp> comparisons;
        for (const ArgCondition& condition : rule.conditions) {
            comparisons.push_back(
                SCMP_CMP64(condition.index, SCMP_CMP_MASKED_EQ, condition.mask, condition.value));
        }
        const int added =
            seccomp_rule_add_array(filter, SCMP_ACT_ALLOW, static_cast<int>(rule.number),
                                   static_cast<unsigned>(comparisons.size()), comparisons.data());
        if (added != 0) {
            return fail("sandbox: cannot allow system call {} for the {} thread: {}", rule.number,
                        role_name(role), std::strerror(-added));
        }
    }
    if (const int loaded = seccomp_load(filter); loaded != 0) {
        return fail("sandbox: cannot install the {} thread's seccomp filter: {}", role_name(role),
                    std::strerror(-loaded));
    }
    return {};
}

// HVMM_SANDBOX_SELFTEST=ROLE:read:PATH (seccomp_sandbox.h): one line, then the process ends.
[[noreturn]] void read_selftest(ThreadRole role, std::string_view path) {
    const std::string file(path);
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    const int error = errno;
    const std::string line =
        fd >= 0
            ? fmt::format("hvmm: sandbox self-test: the {} thread read {}\n", role_name(role), file)
            : fmt::format("hvmm: sandbox self-test: the {} thread could not read {}: {}\n",
                          role_name(role), file, std::strerror(error));
    (void)!::write(STDERR_FILENO, line.data(), line.size());
    ::_exit(fd >= 0 ? 1 : 0);
}

}  // namespace

Result<void> prepare(const SandboxNeeds& needs) {
    g_needs = needs;
    // glibc loads the time zone (/etc/localtime) on the first time conversion, gmtime_r's too
    // (the RTC's): load it now, while files may still be opened.
    ::tzset();
    resolve_syscall_names();
    HVMM_TRY_VOID(install_violation_handler());
    g_enabled.store(true);
    return {};
}

bool enabled() {
    return g_enabled.load();
}

Result<void> enter(ThreadRole role) {
    if (!enabled())
        return {};
    const char* selftest_text = std::getenv(kSelftestVariable);
    const std::string_view selftest = selftest_text != nullptr ? selftest_text : "";
    const size_t colon = selftest.find(':');
    const bool selftest_here = parse_role(selftest.substr(0, colon)) == role;
    // seccomp and Landlock require it of a thread without CAP_SYS_ADMIN; hvmm wants it anyway.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        return fail_errno("sandbox: cannot set no_new_privs");
    }
    const int landlock_abi = HVMM_TRY(confine_filesystem(g_needs.filesystem));
    if (landlock_abi == 0 && !g_said_no_landlock.exchange(true)) {
        log::warn(
            "sandbox: this kernel has no Landlock (not built, or not in its lsm= list): "
            "the threads' file access is limited by their system call filters alone");
    }
    t_role = static_cast<int>(role);
    HVMM_TRY_VOID(load_filter(role));
    if (selftest_here && colon == std::string_view::npos) {
        ::syscall(SYS_ptrace, -1L, 0L, 0L, 0L);
    } else if (selftest_here && selftest.substr(colon + 1).starts_with("read:")) {
        read_selftest(role, selftest.substr(colon + 1 + 5));
    }
    return {};
}

}  // namespace hvmm::sandbox
