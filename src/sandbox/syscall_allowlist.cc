#include "sandbox/syscall_allowlist.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/sockios.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>

#include "base/vhost_uapi.h"

namespace hvmm::sandbox {
namespace {

class RuleSet {
  public:
    void allow(std::initializer_list<long> numbers) {
        for (const long number : numbers) {
            rules_.push_back({number, {}});
        }
    }
    void allow_if(long number, std::vector<ArgCondition> conditions) {
        rules_.push_back({number, std::move(conditions)});
    }
    // ioctl(fd, request, ...) for each request: the role may drive these devices, no others.
    void allow_ioctls(std::initializer_list<unsigned long> requests) {
        for (const unsigned long request : requests) {
            allow_if(SYS_ioctl, {{1, 0xFFFFFFFFull, request}});
        }
    }
    std::vector<SyscallRule> take() { return std::move(rules_); }

  private:
    std::vector<SyscallRule> rules_;
};

// What any thread of hvmm does whatever its job: allocate (glibc's malloc maps and unmaps, a
// thread's exit returns its stack), wait on a mutex or condition variable, read the clock, log a
// line to stderr, leave. No executable mappings: nothing after set-up loads code.
void add_every_thread_calls(RuleSet& rules) {
    rules.allow(
        {SYS_brk,       SYS_munmap,          SYS_madvise,       SYS_mremap,         SYS_futex,
         SYS_exit,      SYS_exit_group,      SYS_rt_sigreturn,  SYS_rt_sigprocmask, SYS_sched_yield,
         SYS_nanosleep, SYS_clock_nanosleep, SYS_clock_gettime, SYS_gettimeofday,   SYS_getpid,
         SYS_gettid,    SYS_write,           SYS_writev,        SYS_lseek,          SYS_fstat,
         SYS_getrandom, SYS_restart_syscall});
    // A thread's own alternate signal stack: the sanitizers' runtimes set one up and take it
    // down around each thread (and a crash handler would).
    rules.allow({SYS_sigaltstack});
    rules.allow_if(SYS_mmap, {{2, PROT_EXEC, 0}});
    rules.allow_if(SYS_mprotect, {{2, PROT_EXEC, 0}});
    // stdio's fstat of a stream it first writes (fstatat of the fd itself, no path).
    rules.allow_if(SYS_newfstatat, {{3, AT_EMPTY_PATH, AT_EMPTY_PATH}});
    // Signals only within hvmm: a vCPU's kick, abort().
    rules.allow_if(SYS_tgkill, {{0, ~0ull, static_cast<uint64_t>(::getpid())}});
    // stdio asks whether a stream is a terminal; the terminal is put back on any way out.
    rules.allow_ioctls({TCGETS, TCSETSF});
}

// The sanitizer builds (scripts/test.sh's ASan and TSan runs): their runtimes make calls of their
// own from any thread, such as ASan's check that a range is readable (a write into a pipe).
// Only in those builds; the shipped hvmm's lists are the ones above and below.
void add_sanitizer_runtime_calls([[maybe_unused]] RuleSet& rules) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    rules.allow({SYS_pipe2, SYS_read, SYS_close});
#endif
}

// The event loop: epoll, its wakeup eventfd, timerfds (libslirp's timers come and go).
void add_event_loop_calls(RuleSet& rules) {
    rules.allow({SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_ctl, SYS_eventfd2, SYS_timerfd_create,
                 SYS_timerfd_settime, SYS_timerfd_gettime, SYS_read, SYS_close, SYS_fcntl});
}

// Frames to and from a backend's fds (TAP, sockets, eventfds) and a pcap file's writes.
void add_frame_io_calls(RuleSet& rules) {
    rules.allow({SYS_read,        SYS_readv,          SYS_recvfrom,        SYS_recvmsg,
                 SYS_recvmmsg,    SYS_sendto,         SYS_sendmsg,         SYS_sendmmsg,
                 SYS_shutdown,    SYS_getsockopt,     SYS_setsockopt,      SYS_getsockname,
                 SYS_getpeername, SYS_close,          SYS_fcntl,           SYS_epoll_ctl,
                 SYS_eventfd2,    SYS_timerfd_create, SYS_timerfd_settime, SYS_timerfd_gettime});
    // A backend whose fd died (a deleted TAP) has an inert eventfd put in its place, so the fd
    // number stays valid for whoever still holds it (net/retire_fd.h).
    rules.allow({SYS_dup3});
    // A look without waiting (libslirp's sockets, whether a stream peer hung up): timeout 0.
    rules.allow_if(SYS_poll, {{2, ~0ull, 0}});
}

// libslirp, on the thread that hands it a frame or polls it: a socket per guest connection
// (IPv4, IPv6; ICMP echo is a datagram socket), accept for port forwards, and the host's
// resolver configuration, read (never written) when the guest asks its DNS forwarder.
void add_user_network_calls(RuleSet& rules) {
    rules.allow_if(SYS_socket, {{0, ~0ull, AF_INET}});
    rules.allow_if(SYS_socket, {{0, ~0ull, AF_INET6}});
    rules.allow({SYS_connect, SYS_bind, SYS_listen, SYS_accept, SYS_accept4});
    rules.allow_if(SYS_openat, {{2, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY}});
    rules.allow({SYS_newfstatat});
    rules.allow_ioctls({FIONREAD});
}

// A TAP's link state (TUNGETIFF fails once the interface is deleted), the offloads a virtio
// driver acks, and its vnet header's size.
void add_tap_calls(RuleSet& rules) {
    rules.allow_ioctls({TUNGETIFF, SIOCGIFFLAGS, TUNSETOFFLOAD,
                        // vhost-net, started by DRIVER_OK, checks and sets the TAP's header size
                        TUNGETVNETHDRSZ, TUNSETVNETHDRSZ});
}

// vhost-net: set up from the vCPU that writes DRIVER_OK, stopped on reset or at exit.
void add_vhost_calls(RuleSet& rules) {
    using namespace vhost_uapi;
    rules.allow_ioctls({kVhostGetFeatures, kVhostSetFeatures, kVhostSetOwner, kVhostSetMemTable,
                        kVhostSetVringNum, kVhostSetVringAddr, kVhostSetVringBase,
                        kVhostGetVringBase, kVhostSetVringKick, kVhostSetVringCall,
                        kVhostSetVringErr, kVhostSetVringBusyloopTimeout, kVhostNetSetBackend});
}

// <linux/kvm.h>'s KVM_SET_GSI_ROUTING sizes struct kvm_irq_routing, whose zero-length entries
// array C++ pads to 16 bytes; the kernel's (C's) size is 8, as kvm/uapi_layout.h builds it.
constexpr unsigned long kSetGsiRouting = _IOC(_IOC_WRITE, KVMIO, 0x6a, 8);

// The VM's wiring that a guest changes while it runs: interrupt lines and MSI messages, MSI-X
// routes (the whole table), irqfds and ioeventfds that follow BAR moves, coalesced windows.
void add_vm_wiring_ioctls(RuleSet& rules) {
    rules.allow_ioctls({KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, KVM_SIGNAL_MSI, kSetGsiRouting,
                        KVM_IRQFD, KVM_IOEVENTFD, KVM_REGISTER_COALESCED_MMIO,
                        KVM_UNREGISTER_COALESCED_MMIO});
}

void add_role_calls(RuleSet& rules, ThreadRole role, const SandboxNeeds& needs) {
    const bool drives_backends =
        role == ThreadRole::kVcpu || role == ThreadRole::kIo || role == ThreadRole::kSwitch;
    if (drives_backends) {
        add_frame_io_calls(rules);
        if (needs.user_network)
            add_user_network_calls(rules);
        if (needs.tap)
            add_tap_calls(rules);
    }
    switch (role) {
        case ThreadRole::kVcpu:
            rules.allow_ioctls({KVM_GET_REGS, KVM_GET_SREGS});  // KVM_RUN: first, above
            add_vm_wiring_ioctls(rules);
            if (needs.vhost)
                add_vhost_calls(rules);
            break;
        case ThreadRole::kIo:
            add_event_loop_calls(rules);
            add_vm_wiring_ioctls(rules);
            // A stream client's reconnect, a listening socket's next peer.
            rules.allow_if(SYS_socket, {{0, ~0ull, AF_UNIX}});
            rules.allow({SYS_connect, SYS_accept4});
            if (needs.vhost)
                add_vhost_calls(rules);
            break;
        case ThreadRole::kMain:
            // Tear-down after the I/O thread returns: kick and join the vCPUs, say where they
            // stopped, stop vhost, unplug eventfds, close every fd, remove a listening socket's
            // file, put the terminal back, write the statistics to the file opened at start.
            // A listening socket's file is removed only while it is still the one hvmm bound
            // (lstat).
            rules.allow({SYS_read, SYS_close, SYS_fcntl, SYS_epoll_ctl, SYS_unlink, SYS_shutdown,
                         SYS_newfstatat});
            rules.allow_ioctls({KVM_GET_REGS, KVM_GET_SREGS});
            add_vm_wiring_ioctls(rules);
            if (needs.vhost)
                add_vhost_calls(rules);
            break;
        case ThreadRole::kConsole:
            break;  // writes and waits: every thread's calls
        case ThreadRole::kSwitch:
            add_event_loop_calls(rules);
            // Ports join on the socket, `hvmm switch status` on the control socket (whose
            // peer's credentials it checks); the leases file is rewritten by rename; stopping
            // removes the switch's files, each only while it is still this switch's (lstat).
            rules.allow({SYS_accept4, SYS_openat, SYS_rename, SYS_fsync, SYS_fdatasync, SYS_unlink,
                         SYS_newfstatat});
            break;
    }
}

}  // namespace

std::vector<SyscallRule> allowlist(ThreadRole role, const SandboxNeeds& needs) {
    RuleSet rules;
    if (role == ThreadRole::kVcpu) {
        // First: the call a vCPU makes on every exit. The kernel caches the verdict of calls
        // allowed whatever their arguments, but runs the filter for ioctl each time, and
        // libseccomp tests an ioctl's request numbers in the order they were added.
        rules.allow_ioctls({KVM_RUN});
    }
    add_every_thread_calls(rules);
    add_sanitizer_runtime_calls(rules);
    add_role_calls(rules, role, needs);
    return rules.take();
}

std::vector<std::string> allowed_call_names(ThreadRole role, const SandboxNeeds& needs) {
    std::vector<std::string> names;
    for (const SyscallRule& rule : allowlist(role, needs)) {
        char* name =
            seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, static_cast<int>(rule.number));
        names.emplace_back(name != nullptr ? name : std::to_string(rule.number));
        std::free(name);
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

}  // namespace hvmm::sandbox
