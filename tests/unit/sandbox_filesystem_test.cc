// The file half of the sandbox (Landlock), in a child process per case: a confined thread reaches
// the paths its role names, in the ways named, and nothing else, whatever its system call filter
// lets it call.
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/landlock.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "sandbox/filesystem_confinement.h"
#include "sandbox_child.h"

namespace hvmm::sandbox {
namespace {

bool kernel_has_landlock() {
    return ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION) >= 1;
}

// A scratch tree: readable.txt, other.txt, read-dir/inside.txt, write-dir/, remove-dir/gone.sock.
class SandboxFilesystem : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!kernel_has_landlock())
            GTEST_SKIP() << "this kernel has no Landlock (not built, or not in its lsm= list)";
        char pattern[] = "/tmp/hvmm-landlock-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        root_ = pattern;
        write(root_ + "/readable.txt");
        write(root_ + "/other.txt");
        std::filesystem::create_directory(root_ + "/read-dir");
        write(root_ + "/read-dir/inside.txt");
        std::filesystem::create_directory(root_ + "/write-dir");
        std::filesystem::create_directory(root_ + "/remove-dir");
        write(root_ + "/remove-dir/gone.sock");
        access_.readable_files = {root_ + "/readable.txt", root_ + "/not-there"};
        access_.readable_directories = {root_ + "/read-dir"};
        access_.writable_directories = {root_ + "/write-dir"};
        access_.removable_directories = {root_ + "/remove-dir"};
    }
    void TearDown() override {
        if (!root_.empty())
            std::filesystem::remove_all(root_);
    }
    static void write(const std::string& path) { std::ofstream(path) << "x\n"; }

    // Runs checks in a child confined to access_: exit status 0 when every check held, else the
    // number of the first that did not (its line on stderr).
    ChildResult confined(const std::function<int()>& checks) const {
        return run_in_child([&] {
            if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
                ::_exit(98);
            const auto abi = confine_filesystem(access_);
            if (!abi || *abi < 1)
                ::_exit(99);
            ::_exit(checks());
        });
    }

    std::string root_;
    FilesystemAccess access_;
};

// open(path, flags): 0 when it opened, else errno.
int open_errno(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    ::close(fd);
    return 0;
}

#define EXPECT_IN_CHILD(number, condition)                                                       \
    do {                                                                                         \
        if (!(condition)) {                                                                      \
            std::fprintf(stderr, "check %d failed: %s (errno %d)\n", number, #condition, errno); \
            return number;                                                                       \
        }                                                                                        \
    } while (0)

TEST_F(SandboxFilesystem, AReadableFileIsReadAndNothingMore) {
    const std::string root = root_;
    const auto result = confined([root] {
        EXPECT_IN_CHILD(1, open_errno(root + "/readable.txt", O_RDONLY) == 0);
        EXPECT_IN_CHILD(2, open_errno(root + "/readable.txt", O_WRONLY) == EACCES);
        EXPECT_IN_CHILD(3, open_errno(root + "/other.txt", O_RDONLY) == EACCES);
        EXPECT_IN_CHILD(4, open_errno(root, O_RDONLY | O_DIRECTORY) == EACCES);
        EXPECT_IN_CHILD(5, open_errno("/etc/passwd", O_RDONLY) == EACCES);
        return 0;
    });
    EXPECT_EQ(result.status, 0) << result.err;
}

TEST_F(SandboxFilesystem, AReadableDirectoryIsReadBelowButNotWritten) {
    const std::string root = root_;
    const auto result = confined([root] {
        EXPECT_IN_CHILD(1, open_errno(root + "/read-dir/inside.txt", O_RDONLY) == 0);
        EXPECT_IN_CHILD(2, open_errno(root + "/read-dir", O_RDONLY | O_DIRECTORY) == 0);
        EXPECT_IN_CHILD(3, open_errno(root + "/read-dir/inside.txt", O_RDWR) == EACCES);
        EXPECT_IN_CHILD(4, open_errno(root + "/read-dir/new.txt", O_WRONLY | O_CREAT) == EACCES);
        EXPECT_IN_CHILD(5, ::unlink((root + "/read-dir/inside.txt").c_str()) != 0);
        return 0;
    });
    EXPECT_EQ(result.status, 0) << result.err;
    EXPECT_TRUE(std::filesystem::exists(root_ + "/read-dir/inside.txt"));
}

TEST_F(SandboxFilesystem, AWritableDirectoryTakesTheLeasesFilesRewriteAndNothingElse) {
    const std::string root = root_;
    const auto result = confined([root] {
        const std::string dir = root + "/write-dir";
        // What DhcpServer's leases file does: a temporary written, renamed over the file.
        EXPECT_IN_CHILD(1, open_errno(dir + "/leases.tmp", O_WRONLY | O_CREAT | O_TRUNC) == 0);
        EXPECT_IN_CHILD(2, ::rename((dir + "/leases.tmp").c_str(), (dir + "/leases").c_str()) == 0);
        EXPECT_IN_CHILD(3, open_errno(dir + "/leases", O_RDONLY) == 0);
        EXPECT_IN_CHILD(4, open_errno(dir + "/leases", O_WRONLY | O_TRUNC) == 0);
        EXPECT_IN_CHILD(5, ::unlink((dir + "/leases").c_str()) == 0);
        // No directories, no links, no moving a file out; nothing beside it.
        EXPECT_IN_CHILD(6, ::mkdir((dir + "/sub").c_str(), 0700) != 0 && errno == EACCES);
        EXPECT_IN_CHILD(7, ::symlink("/etc/passwd", (dir + "/link").c_str()) != 0);
        EXPECT_IN_CHILD(8, open_errno(dir + "/moved", O_WRONLY | O_CREAT) == 0);
        EXPECT_IN_CHILD(9, ::rename((dir + "/moved").c_str(), (root + "/moved").c_str()) != 0);
        EXPECT_IN_CHILD(10, open_errno(root + "/beside.txt", O_WRONLY | O_CREAT) == EACCES);
        return 0;
    });
    EXPECT_EQ(result.status, 0) << result.err;
    EXPECT_FALSE(std::filesystem::exists(root_ + "/beside.txt"));
    EXPECT_FALSE(std::filesystem::exists(root_ + "/moved"));
}

TEST_F(SandboxFilesystem, ARemovableDirectoryLetsASocketFileGoAndNothingMore) {
    const std::string root = root_;
    const auto result = confined([root] {
        const std::string dir = root + "/remove-dir";
        EXPECT_IN_CHILD(1, open_errno(dir + "/gone.sock", O_RDONLY) == EACCES);
        EXPECT_IN_CHILD(2, open_errno(dir + "/new", O_WRONLY | O_CREAT) == EACCES);
        EXPECT_IN_CHILD(3, ::unlink((dir + "/gone.sock").c_str()) == 0);
        EXPECT_IN_CHILD(4, ::unlink((root + "/other.txt").c_str()) != 0);
        return 0;
    });
    EXPECT_EQ(result.status, 0) << result.err;
    EXPECT_FALSE(std::filesystem::exists(root_ + "/remove-dir/gone.sock"));
    EXPECT_TRUE(std::filesystem::exists(root_ + "/other.txt"));
}

TEST_F(SandboxFilesystem, NothingNamedIsNothingReachable) {
    access_ = {};
    const std::string root = root_;
    const auto result = confined([root] {
        EXPECT_IN_CHILD(1, open_errno(root + "/readable.txt", O_RDONLY) == EACCES);
        EXPECT_IN_CHILD(2, open_errno("/etc/hostname", O_RDONLY) == EACCES);
        EXPECT_IN_CHILD(3, open_errno("/proc/self/status", O_RDONLY) == EACCES);
        return 0;
    });
    EXPECT_EQ(result.status, 0) << result.err;
}

// hvmm opens /dev/kvm, the TAPs and /dev/vhost-net at set-up and drives them with ioctls for the
// whole run: Landlock binds rights at open, so those fds keep working
// (LANDLOCK_ACCESS_FS_IOCTL_DEV, ABI 5, would refuse a device opened afterwards), while opening the
// device again is refused.
TEST_F(SandboxFilesystem, DevicesOpenedAtSetUpKeepTheirIoctls) {
    const int kvm = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        GTEST_SKIP() << "no /dev/kvm to hold open";
    const auto result = confined([kvm] {
        EXPECT_IN_CHILD(1, ::ioctl(kvm, KVM_GET_API_VERSION, 0) == KVM_API_VERSION);
        EXPECT_IN_CHILD(2, open_errno("/dev/kvm", O_RDWR) == EACCES);
        return 0;
    });
    ::close(kvm);
    EXPECT_EQ(result.status, 0) << result.err;
}

// The run's wiring: a user network's I/O thread (whose filter allows read-only opens of any path,
// libslirp's) reads what it was given for resolv.conf and nothing else.
TEST_F(SandboxFilesystem, TheUserNetworksThreadReadsItsResolvConfAndNothingElse) {
    const SandboxNeeds needs{.user_network = true,
                             .filesystem = {.readable_files = {root_ + "/readable.txt"}}};
    const std::string root = root_;
    const auto result = run_sandboxed(ThreadRole::kIo, needs, [root] {
        if (open_errno(root + "/readable.txt", O_RDONLY) != 0)
            ::_exit(1);
        if (open_errno(root + "/other.txt", O_RDONLY) != EACCES)
            ::_exit(2);
        if (open_errno("/etc/passwd", O_RDONLY) != EACCES)
            ::_exit(3);
    });
    EXPECT_EQ(result.status, 0) << result.err;
}

// HVMM_SANDBOX_SELFTEST=ROLE:read:PATH ends the process with one line: refused (0) or read (1).
TEST_F(SandboxFilesystem, TheSelftestHookSaysWhetherTheRoleCouldRead) {
    const SandboxNeeds needs{.user_network = true,
                             .filesystem = {.readable_files = {root_ + "/readable.txt"}}};
    auto hooked = [&needs](const std::string& value) {
        return run_in_child([&needs, value] {
            ::setenv(kSelftestVariable, value.c_str(), 1);
            if (!prepare(needs) || !enter(ThreadRole::kIo))
                ::_exit(99);
            ::_exit(98);  // the hook did not end the process
        });
    };
    const auto refused = hooked("io:read:" + root_ + "/other.txt");
    EXPECT_EQ(refused.status, 0);
    EXPECT_EQ(refused.err, "hvmm: sandbox self-test: the io thread could not read " + root_ +
                               "/other.txt: Permission denied\n");
    const auto read = hooked("io:read:" + root_ + "/readable.txt");
    EXPECT_EQ(read.status, 1);
    EXPECT_EQ(read.err, "hvmm: sandbox self-test: the io thread read " + root_ + "/readable.txt\n");
}

}  // namespace
}  // namespace hvmm::sandbox
