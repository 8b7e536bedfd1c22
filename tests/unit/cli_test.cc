#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "boot/synthetic_bzimage.h"
#include "cli/base64.h"
#include "cli/default_image.h"
#include "cli/run_options.h"
#include "vmm/nic_dhcp.h"

namespace hvmm::cli {
namespace {

Result<RunOptions> parse(std::vector<const char*> args) {
    args.insert(args.begin(), "run");
    return parse_run_options(static_cast<int>(args.size()), args.data());
}

// A real (synthetic) bzImage on disk, for checks that parse the kernel.
class KernelFile {
  public:
    KernelFile() {
        const std::vector<uint8_t> payload(0x400, 0x90);
        const auto image = boot::make_synthetic_bzimage(payload);
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(image.data()),
                  static_cast<std::streamsize>(image.size()));
    }
    ~KernelFile() { std::remove(path.c_str()); }
    std::string path = "/tmp/hvmm-cli-test-kernel-" + std::to_string(::getpid());
};

TEST(Cli, Base64MatchesRfc4648Vectors) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Cli, RunAppendsTheBase64CommandToTheDefaultCmdline) {
    auto options = parse({"--run", "echo hi"});
    ASSERT_TRUE(options);
    EXPECT_EQ(kernel_cmdline(*options), "console=ttyS0 reboot=k panic=-1 quiet hvmm.run=ZWNobyBoaQ==");
}

TEST(Cli, AppendReplacesTheDefaultCmdline) {
    auto options = parse({"--append", "console=ttyS0 quiet", "--run", "true"});
    ASSERT_TRUE(options);
    EXPECT_EQ(kernel_cmdline(*options), "console=ttyS0 quiet hvmm.run=dHJ1ZQ==");
}

TEST(Cli, DhcpInterfacesGoOnTheCmdlineForTheDefaultImagesInit) {
    auto options = parse({"--run", "true"});
    ASSERT_TRUE(options);
    const std::vector<std::string> one{"eth0"};
    EXPECT_EQ(kernel_cmdline(*options, one),
              "console=ttyS0 reboot=k panic=-1 quiet hvmm.dhcp=eth0 hvmm.run=dHJ1ZQ==");
    const std::vector<std::string> two{"eth0", "eth2"};
    EXPECT_EQ(kernel_cmdline(*options, two),
              "console=ttyS0 reboot=k panic=-1 quiet hvmm.dhcp=eth0,eth2 hvmm.run=dHJ1ZQ==");
    // Without a DHCP network the line is exactly what it was.
    EXPECT_EQ(kernel_cmdline(*options, {}), kernel_cmdline(*options));
    EXPECT_EQ(kernel_cmdline(*options).find("hvmm.dhcp"), std::string::npos);
}

TEST(Cli, TapNicsAskForNoDhcp) {
    KernelFile kernel;
    auto options = parse({"--kernel", kernel.path.c_str(), "--nic", "pcnet,net=tap:hvmm0"});
    ASSERT_TRUE(options);
    const auto config = make_machine_config(*options);
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->cmdline.find("hvmm.dhcp"), std::string::npos);
    EXPECT_TRUE(dhcp_interfaces(config->nics).empty());
}

TEST(Cli, UnknownOptionIsOneLineNamingIt) {
    auto options = parse({"--frobnicate"});
    ASSERT_FALSE(options);
    EXPECT_NE(options.error().message.find("--frobnicate"), std::string::npos);
    EXPECT_EQ(options.error().message.find('\n'), std::string::npos);
}

TEST(Cli, MalformedNumberIsAnError) {
    auto options = parse({"--mem", "lots"});
    ASSERT_FALSE(options);
    EXPECT_NE(options.error().message.find("--mem"), std::string::npos);
}

TEST(Cli, MissingKernelFileIsNamed) {
    auto options = parse({"--kernel", "/nonexistent"});
    ASSERT_TRUE(options);
    auto config = make_machine_config(*options);
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find("/nonexistent"), std::string::npos);
}

TEST(Cli, AFileThatIsNotABzImageIsRefused) {
    auto options = parse({"--kernel", "/proc/self/exe"});
    ASSERT_TRUE(options);
    auto config = make_machine_config(*options);
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find("not a bzImage"), std::string::npos);
}

TEST(Cli, TooLittleMemoryIsRefused) {
    KernelFile kernel;
    auto options = parse({"--kernel", kernel.path.c_str(), "--mem", "32"});
    ASSERT_TRUE(options);
    auto config = make_machine_config(*options);
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find("64 MiB"), std::string::npos);
}

TEST(Cli, ZeroCpusIsRefused) {
    KernelFile kernel;
    auto options = parse({"--kernel", kernel.path.c_str(), "--cpus", "0"});
    ASSERT_TRUE(options);
    EXPECT_FALSE(make_machine_config(*options));
}

TEST(Cli, ValidOptionsBecomeAMachineConfig) {
    KernelFile kernel;
    auto options = parse({"--kernel", kernel.path.c_str(), "--mem", "128", "--cpus", "2", "--stats",
                          "--stats-json", "/tmp/x.json", "-v"});
    ASSERT_TRUE(options);
    EXPECT_TRUE(options->stats);
    EXPECT_EQ(options->stats_json, "/tmp/x.json");
    EXPECT_EQ(options->verbosity, 1);
    auto config = make_machine_config(*options);
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->memory_bytes, 128ull << 20);
    EXPECT_EQ(config->cpu_count, 2u);
    EXPECT_EQ(config->kernel_path, kernel.path);
    EXPECT_TRUE(config->initrd_path.empty());
}

TEST(Cli, VcpuPlacementComesFromTheEnvironmentAndIsChecked) {
    KernelFile kernel;
    auto options = parse({"--kernel", kernel.path.c_str()});
    ASSERT_TRUE(options);
    ::setenv("HVMM_VCPU_CPUS", "0", 1);
    auto placed = make_machine_config(*options);
    ::setenv("HVMM_VCPU_CPUS", "3-1", 1);
    auto backwards = make_machine_config(*options);
    ::unsetenv("HVMM_VCPU_CPUS");
    auto unplaced = make_machine_config(*options);
    ASSERT_TRUE(placed) << placed.error().message;
    EXPECT_EQ(placed->vcpu_cpus, "0");
    ASSERT_FALSE(backwards);
    EXPECT_NE(backwards.error().message.find("HVMM_VCPU_CPUS"), std::string::npos);
    ASSERT_TRUE(unplaced);
    EXPECT_TRUE(unplaced->vcpu_cpus.empty());
}

TEST(Cli, IoThreadSchedulingIsBatchWithAVirtioNicUnlessNamed) {
    KernelFile kernel;
    auto scheduling_of = [&](std::vector<const char*> args) -> std::optional<IoThreadScheduling> {
        args.insert(args.begin(), {"--kernel", kernel.path.c_str()});
        auto options = parse(args);
        if (!options) {
            ADD_FAILURE() << options.error().message;
            return std::nullopt;
        }
        auto config = make_machine_config(*options);
        if (!config) {
            ADD_FAILURE() << config.error().message;
            return std::nullopt;
        }
        return config->io_thread_scheduling;
    };
    using enum IoThreadScheduling;
    EXPECT_EQ(scheduling_of({}), kNormal);
    EXPECT_EQ(scheduling_of({"--nic", "pcnet,net=user"}), kNormal);
    EXPECT_EQ(scheduling_of({"--nic", "virtio,net=user"}), kBatch);
    EXPECT_EQ(scheduling_of({"--nic", "pcnet,net=user", "--nic", "virtio,net=user"}), kBatch);
    EXPECT_EQ(scheduling_of({"--nic", "virtio,net=user", "--io-sched", "auto"}), kBatch);
    EXPECT_EQ(scheduling_of({"--nic", "pcnet,net=user", "--io-sched", "batch"}), kBatch);
    EXPECT_EQ(scheduling_of({"--nic", "virtio,net=user", "--io-sched", "normal"}), kNormal);

    auto wrong = parse({"--kernel", kernel.path.c_str(), "--io-sched", "fifo"});
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().message, "--io-sched 'fifo': want auto, batch or normal");
}

TEST(Cli, BadNicSpecIsRefusedBeforeAnythingRuns) {
    KernelFile kernel;
    auto options = parse({"--kernel", kernel.path.c_str(), "--nic", "pcnet,mac=zz"});
    ASSERT_TRUE(options);
    EXPECT_FALSE(make_machine_config(*options));
}

TEST(Cli, NicWithoutNetworkIsAUserNicAndTwoNicsMayNotBindOneSocket) {
    KernelFile kernel;
    auto options = parse({"--kernel", kernel.path.c_str(), "--nic", "pcnet", "--nic",
                          "pcnet,net=dgram:/tmp/a.sock,/tmp/b.sock"});
    ASSERT_TRUE(options);
    auto config = make_machine_config(*options);
    ASSERT_TRUE(config) << config.error().message;
    ASSERT_EQ(config->nics.size(), 2u);
    EXPECT_EQ(config->nics[0].net, NetKind::kUser);
    EXPECT_EQ(config->nics[1].remote_path, "/tmp/b.sock");

    options = parse({"--kernel", kernel.path.c_str(), "--nic",
                     "pcnet,net=stream-listen:/tmp/a.sock", "--nic",
                     "pcnet,net=dgram:/tmp/a.sock,/tmp/b.sock"});
    ASSERT_TRUE(options);
    config = make_machine_config(*options);
    ASSERT_FALSE(config);
    EXPECT_EQ(config.error().message, "--nic: NICs 0 and 1 both bind the socket '/tmp/a.sock'");
}

TEST(Cli, RunHelpListsTheNetworks) {
    auto options = parse({"--help"});
    ASSERT_TRUE(options);
    ASSERT_TRUE(options->help_requested);
    for (const char* form : {"user (the default)", "hostfwd=", "ADDR/PREFIX", "tap:NAME",
                             "stream:PATH", "reconnect=SECONDS", "stream-listen:PATH",
                             "dgram:LOCAL,REMOTE", "switch:NAME", "may not contain ',' or '='"}) {
        EXPECT_NE(options->help_text.find(form), std::string::npos) << form;
    }
    EXPECT_EQ(options->help_text.find("net=tap:NAME[,mac"), std::string::npos);
}

TEST(Cli, DefaultImageLivesUnderHvmmCache) {
    ::setenv("HVMM_CACHE", "/some/cache", 1);
    auto image = default_image_paths();
    ::unsetenv("HVMM_CACHE");
    ASSERT_TRUE(image);
    EXPECT_EQ(image->kernel_path, "/some/cache/guest/vmlinuz");
    EXPECT_EQ(image->initrd_path, "/some/cache/guest/initrd.img");
}

TEST(Cli, MissingDefaultImageTellsHowToBuildIt) {
    ::setenv("HVMM_CACHE", "/nonexistent-cache", 1);
    auto options = parse({});
    ASSERT_TRUE(options);
    auto config = make_machine_config(*options);
    ::unsetenv("HVMM_CACHE");
    ASSERT_FALSE(config);
    EXPECT_NE(config.error().message.find("guest/build-image.sh"), std::string::npos);
    EXPECT_NE(config.error().message.find("/nonexistent-cache/guest/vmlinuz"), std::string::npos);
}

}  // namespace
}  // namespace hvmm::cli
