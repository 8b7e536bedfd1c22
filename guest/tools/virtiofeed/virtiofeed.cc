// virtiofeed: a hostile guest's virtio-net transmit queue, from guest userspace. It takes the
// first modern virtio-net function (1af4:1041) from its driver, sets up the transmit queue by
// itself (VIRTIO 1.2, 4.1 "Virtio Over PCI Bus", no features but VERSION_1, interrupts
// suppressed), publishes a full ring and kicks ONCE. From then on it only stores: every 100 us it
// looks at used.idx and republishes whatever the device consumed (avail.idx = used.idx + ring
// size), stores that cost it no exit while the device has notifications off, and sleeps between.
// A device that gave itself the next turn whenever a turn ended on its budget drained such a ring
// at host speed on hvmm's I/O thread for as long as the loop ran; hvmm's leaves the backlog to the
// guest's next kick and a 1 ms transmit tick (README, "Bounded work and memory under a hostile
// guest"). The lab check (tests/lab/hvmm_checks.sh, virtio_self_feeding_bounded) measures hvmm from
// outside meanwhile.
//
// Memory: pages of this process, locked, their physical addresses from /proc/self/pagemap (which
// needs root): the descriptor table, the avail ring, the used ring, and the frame: a 12-byte
// virtio-net header (no offloads), then FRAME_LENGTH bytes, an Ethernet frame of a local
// experimental EtherType from the NIC's MAC to a MAC nobody has. The frame's pages need not be
// contiguous: it is one chain of a descriptor per page, and every avail entry names that chain.
// The default 64 KiB frame makes a kicked turn end on its 1 MiB after 16 chains with the rest of
// the ring still published, whatever the scheduler does (on a host with one CPU the guest's
// stores cannot land inside a turn of small frames, which ends on the ring), and a transmit tick
// take one chain (its 64 KiB). At the end the device is reset and virtio-pci bound again, whose
// probe brings the NIC back to the guest's kernel.
//
// usage: virtiofeed [SECONDS [FRAME_LENGTH]]   (defaults 10 and 65536)
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../lib/pagemap.h"

namespace {

constexpr size_t kPage = 4096;
constexpr uint16_t kQueueSize = 256;
constexpr uint16_t kTxQueue = 1;  // virtio-net: receiveq1 = 0, transmitq1 = 1
constexpr size_t kHeaderSize = 12;
// The largest frame hvmm sends without a GSO header: 64 KiB of payload after the Ethernet header
// (net::kMaxFrameSize), so 64 KiB counts whole against a turn's byte budget.
constexpr long kMaxFrameLength = 65536;
constexpr uint16_t kDescriptorNext = 1;    // VIRTQ_DESC_F_NEXT
constexpr uint16_t kAvailNoInterrupt = 1;  // VIRTQ_AVAIL_F_NO_INTERRUPT

// virtio_pci_common_cfg offsets (VIRTIO 1.2 4.1.4.3).
constexpr size_t kDeviceFeatureSelect = 0x00, kDeviceFeature = 0x04, kDriverFeatureSelect = 0x08,
                 kDriverFeature = 0x0C, kDeviceStatus = 0x14, kQueueSelect = 0x16,
                 kQueueSizeRegister = 0x18, kQueueMsixVector = 0x1A, kQueueEnable = 0x1C,
                 kQueueNotifyOff = 0x1E, kQueueDesc = 0x20, kQueueDriver = 0x28,
                 kQueueDevice = 0x30;
constexpr uint8_t kAcknowledge = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8;
constexpr uint32_t kFeatureVersion1High = 1;  // VIRTIO_F_VERSION_1 is bit 32

// Set once the function is taken from its driver: a failure from then on resets the device and
// gives it back, so a failed run does not leave the guest without its NIC.
volatile uint8_t* g_common = nullptr;  // the common configuration, once mapped
std::string g_give_back;               // "DRIVER ADDRESS" while the driver is unbound
bool write_text(const std::string& path, const std::string& text);

[[noreturn]] void fail(const std::string& message) {
    fprintf(stderr, "virtiofeed: %s\n", message.c_str());
    if (g_common != nullptr)
        g_common[kDeviceStatus] = 0;  // reset
    if (!g_give_back.empty()) {
        const size_t space = g_give_back.find(' ');
        write_text("/sys/bus/pci/drivers/" + g_give_back.substr(0, space) + "/bind",
                   g_give_back.substr(space + 1));
    }
    exit(1);
}

std::string read_text(const std::string& path) {
    FILE* f = fopen(path.c_str(), "re");
    if (f == nullptr)
        return {};
    char buffer[256] = {};
    const size_t n = fread(buffer, 1, sizeof buffer - 1, f);
    fclose(f);
    std::string text(buffer, n);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

bool write_text(const std::string& path, const std::string& text) {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    return ok;
}

std::string g_sysfs;  // /sys/bus/pci/devices/BDF

// The first function with a virtio-net non-transitional ID; its sysfs directory.
std::string find_virtio_net() {
    DIR* dir = opendir("/sys/bus/pci/devices");
    if (dir == nullptr)
        fail("cannot list /sys/bus/pci/devices");
    std::string found;
    while (dirent* entry = readdir(dir)) {
        const std::string path = std::string("/sys/bus/pci/devices/") + entry->d_name;
        if (read_text(path + "/vendor") == "0x1af4" && read_text(path + "/device") == "0x1041") {
            found = path;
            break;
        }
    }
    closedir(dir);
    if (found.empty())
        fail("no virtio-net function (1af4:1041) in /sys/bus/pci/devices");
    return found;
}

std::string bound_driver() {
    char target[256] = {};
    const ssize_t n = readlink((g_sysfs + "/driver").c_str(), target, sizeof target - 1);
    if (n <= 0)
        return {};
    const std::string path(target, static_cast<size_t>(n));
    return path.substr(path.rfind('/') + 1);
}

// The function's configuration space, as sysfs shows it to root (all 256 bytes).
struct ConfigSpace {
    uint8_t bytes[256] = {};
    uint8_t u8(size_t at) const { return bytes[at]; }
    uint32_t u32(size_t at) const {
        uint32_t v;
        memcpy(&v, bytes + at, 4);
        return v;
    }
};

ConfigSpace read_config() {
    ConfigSpace config;
    int fd = open((g_sysfs + "/config").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || pread(fd, config.bytes, sizeof config.bytes, 0) != sizeof config.bytes)
        fail("cannot read " + g_sysfs + "/config (as root)");
    close(fd);
    return config;
}

// PCI command register: memory space and bus master on (unbinding may have turned them off).
void enable_memory_and_bus_master() {
    int fd = open((g_sysfs + "/config").c_str(), O_RDWR | O_CLOEXEC);
    uint16_t command = 0;
    if (fd < 0 || pread(fd, &command, 2, 4) != 2)
        fail("cannot read the command register");
    command |= 0x0002 | 0x0004;
    if (pwrite(fd, &command, 2, 4) != 2)
        fail("cannot write the command register");
    close(fd);
}

// A vendor capability (cap_vndr 0x09) of the given cfg_type: its BAR, offset and the notify
// multiplier (for type 2).
struct Region {
    uint8_t bar = 0xFF;
    uint32_t offset = 0;
    uint32_t multiplier = 0;
};

Region find_capability(const ConfigSpace& config, uint8_t type) {
    if (!(config.u8(0x06) & 0x10))
        fail("the function has no capability list");
    uint8_t at = config.u8(0x34) & 0xFC;
    for (int guard = 0; at != 0 && guard < 48; ++guard) {
        if (config.u8(at) == 0x09 && config.u8(at + 3) == type && at + 16 <= 256) {
            Region region{config.u8(at + 4), config.u32(at + 8), 0};
            if (type == 2 && at + 20 <= 256)
                region.multiplier = config.u32(at + 16);
            return region;
        }
        at = config.u8(at + 1) & 0xFC;
    }
    fail("no virtio capability of type " + std::to_string(type));
}

volatile uint8_t* map_bar(uint8_t bar) {
    const std::string path = g_sysfs + "/resource" + std::to_string(bar);
    int fd = open(path.c_str(), O_RDWR | O_SYNC | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0)
        fail("cannot open " + path);
    void* map =
        mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        fail("cannot map " + path + ": " + strerror(errno));
    return static_cast<volatile uint8_t*>(map);
}

template <typename T>
void put(size_t at, T value) {
    *reinterpret_cast<volatile T*>(g_common + at) = value;
}
template <typename T>
T get(size_t at) {
    return *reinterpret_cast<volatile T*>(g_common + at);
}
void put64(size_t at, uint64_t value) {  // two 32-bit halves, as the spec allows
    put<uint32_t>(at, static_cast<uint32_t>(value));
    put<uint32_t>(at + 4, static_cast<uint32_t>(value >> 32));
}

double now_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? atof(argv[1]) : 10.0;
    const long frame_length = argc > 2 ? atol(argv[2]) : kMaxFrameLength;
    if (seconds <= 0 || frame_length < 60 || frame_length > kMaxFrameLength) {
        fprintf(stderr, "usage: virtiofeed [SECONDS [FRAME_LENGTH (60..%ld)]]\n", kMaxFrameLength);
        return 2;
    }
    g_sysfs = find_virtio_net();
    const std::string address = g_sysfs.substr(g_sysfs.rfind('/') + 1);
    const std::string driver = bound_driver();
    if (!driver.empty() && !write_text(g_sysfs + "/driver/unbind", address))
        fail("cannot unbind " + address + " from " + driver);
    if (!driver.empty())
        g_give_back = driver + " " + address;
    enable_memory_and_bus_master();
    const ConfigSpace config = read_config();
    const Region common = find_capability(config, 1), notify = find_capability(config, 2),
                 device = find_capability(config, 4);
    if (notify.bar != common.bar || device.bar != common.bar)
        fail("the capabilities are in different BARs (this tool maps one)");
    volatile uint8_t* bar = map_bar(common.bar);
    g_common = bar + common.offset;

    // Reset, then the driver's steps (VIRTIO 1.2 3.1.1) with VERSION_1 alone.
    put<uint8_t>(kDeviceStatus, 0);
    for (int i = 0; i < 1000 && get<uint8_t>(kDeviceStatus) != 0; ++i) usleep(100);
    put<uint8_t>(kDeviceStatus, kAcknowledge);
    put<uint8_t>(kDeviceStatus, kAcknowledge | kDriver);
    put<uint32_t>(kDeviceFeatureSelect, 1);
    if (!(get<uint32_t>(kDeviceFeature) & kFeatureVersion1High))
        fail("the device does not offer VIRTIO_F_VERSION_1");
    put<uint32_t>(kDriverFeatureSelect, 0);
    put<uint32_t>(kDriverFeature, 0);
    put<uint32_t>(kDriverFeatureSelect, 1);
    put<uint32_t>(kDriverFeature, kFeatureVersion1High);
    put<uint8_t>(kDeviceStatus, kAcknowledge | kDriver | kFeaturesOk);
    if (!(get<uint8_t>(kDeviceStatus) & kFeaturesOk))
        fail("the device refused the features");

    const size_t chain_length = kHeaderSize + static_cast<size_t>(frame_length);
    const size_t frame_pages = (chain_length + kPage - 1) / kPage;
    const size_t page_count = 3 + frame_pages;
    auto* pages = static_cast<uint8_t*>(mmap(nullptr, page_count * kPage, PROT_READ | PROT_WRITE,
                                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (pages == MAP_FAILED || mlock(pages, page_count * kPage) != 0)
        fail("cannot lock " + std::to_string(page_count) + " pages");
    memset(pages, 0, page_count * kPage);
    uint8_t* descriptors = pages;
    auto* avail = reinterpret_cast<volatile uint16_t*>(pages + kPage);     // flags, idx, ring[]
    auto* used = reinterpret_cast<volatile uint16_t*>(pages + 2 * kPage);  // flags, idx, ...
    uint8_t* frame = pages + 3 * kPage;  // header, then the Ethernet frame

    // The frame: header zeroed (no offloads), then NIC MAC -> a MAC nobody has, EtherType 0x88B5.
    uint8_t* ethernet = frame + kHeaderSize;
    const uint8_t nobody[6] = {0x02, 0x00, 0x5e, 0x00, 0xfe, 0xed};
    memcpy(ethernet, nobody, 6);
    for (int i = 0; i < 6; ++i) ethernet[6 + i] = bar[device.offset + static_cast<size_t>(i)];
    ethernet[12] = 0x88;
    ethernet[13] = 0xB5;
    // One chain, descriptor i for the frame's page i: addr le64, len le32, flags le16, next le16.
    for (size_t i = 0; i < frame_pages; ++i) {
        uint8_t* d = descriptors + i * 16;
        const uint64_t address = guest_tools::physical_address(frame + i * kPage, fail);
        const auto length = static_cast<uint32_t>(std::min(kPage, chain_length - i * kPage));
        const uint16_t flags = i + 1 < frame_pages ? kDescriptorNext : 0;
        const auto next = static_cast<uint16_t>(i + 1);
        memcpy(d, &address, 8);
        memcpy(d + 8, &length, 4);
        memcpy(d + 12, &flags, 2);
        memcpy(d + 14, &next, 2);
    }
    for (uint16_t i = 0; i < kQueueSize; ++i) avail[2 + i] = 0;  // every entry: the chain at 0

    put<uint16_t>(kQueueSelect, kTxQueue);
    const uint16_t max_size = get<uint16_t>(kQueueSizeRegister);
    if (max_size < kQueueSize)
        fail("the transmit queue holds only " + std::to_string(max_size) + " entries");
    put<uint16_t>(kQueueSizeRegister, kQueueSize);
    put<uint16_t>(kQueueMsixVector, 0xFFFF);  // no vector: nobody listens
    put64(kQueueDesc, guest_tools::physical_address(descriptors, fail));
    put64(kQueueDriver, guest_tools::physical_address(const_cast<uint16_t*>(avail), fail));
    put64(kQueueDevice, guest_tools::physical_address(const_cast<uint16_t*>(used), fail));
    put<uint16_t>(kQueueEnable, 1);
    const uint16_t notify_off = get<uint16_t>(kQueueNotifyOff);
    put<uint8_t>(kDeviceStatus, kAcknowledge | kDriver | kFeaturesOk | kDriverOk);

    // A full ring, and the one kick this guest ever makes.
    avail[0] = kAvailNoInterrupt;
    std::atomic_thread_fence(std::memory_order_release);
    avail[1] = kQueueSize;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    *reinterpret_cast<volatile uint16_t*>(bar + notify.offset + notify_off * notify.multiplier) =
        kTxQueue;
    printf("virtiofeed-started %s: a full ring of %u %zu-byte chains, one kick\n", address.c_str(),
           kQueueSize, chain_length);
    fflush(stdout);

    // From now on only stores: whatever the device consumed is published again at once.
    uint64_t consumed = 0, stores = 0;
    uint16_t last_used = 0;
    const double start = now_seconds(), end = start + seconds;
    while (now_seconds() < end) {
        const uint16_t used_idx = used[1];
        std::atomic_thread_fence(std::memory_order_acquire);
        if (used_idx != last_used) {
            consumed += static_cast<uint16_t>(used_idx - last_used);
            last_used = used_idx;
            avail[1] = static_cast<uint16_t>(used_idx + kQueueSize);
            ++stores;
        }
        // The guest mostly sleeps: a look every 100 us keeps a ring of 256 full against any
        // device that does not drain 256 frames in that time, and costs the guest next to
        // nothing (on the lab's one CPU a spinning vCPU would also starve the I/O thread whose
        // work is being measured).
        usleep(100);
    }
    const double elapsed = now_seconds() - start;
    put<uint8_t>(kDeviceStatus, 0);  // reset: the device lets go of the ring
    for (int i = 0; i < 1000 && get<uint8_t>(kDeviceStatus) != 0; ++i) usleep(100);
    printf(
        "virtiofeed-done %.2f s: %llu chains consumed (%.0f a second), %llu republishing "
        "stores, 1 kick\n",
        elapsed, static_cast<unsigned long long>(consumed), static_cast<double>(consumed) / elapsed,
        static_cast<unsigned long long>(stores));
    fflush(stdout);
    g_common = nullptr;
    g_give_back.clear();
    if (!driver.empty() && !write_text("/sys/bus/pci/drivers/" + driver + "/bind", address))
        fail("cannot bind " + address + " to " + driver + " again");
    return 0;
}
