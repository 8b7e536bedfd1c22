#include "pcnet_device.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>

namespace iotime {

namespace {

const char kDevices[] = "/sys/bus/pci/devices";

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

bool write_file(const std::string& path, const std::string& text, std::string* error) {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        *error = "cannot open " + path + ": " + strerror(errno);
        return false;
    }
    ssize_t n = write(fd, text.data(), text.size());
    int saved = errno;
    close(fd);
    if (n != static_cast<ssize_t>(text.size())) {
        *error = "writing '" + text + "' to " + path + " failed: " + strerror(saved);
        return false;
    }
    return true;
}

// The driver bound to the device, from its `driver` symlink; empty when unbound.
std::string driver_of(const std::string& dir) {
    char target[PATH_MAX];
    ssize_t n = readlink((dir + "/driver").c_str(), target, sizeof target - 1);
    if (n <= 0) return {};
    target[n] = '\0';
    const char* slash = strrchr(target, '/');
    return slash ? slash + 1 : target;
}

// The first network interface the device has (dir/net/NAME) and whether it is administratively
// up (IFF_UP, bit 0 of its `flags`).
void interface_of(const std::string& dir, PcnetDevice* dev) {
    DIR* d = opendir((dir + "/net").c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        dev->interface = e->d_name;
        auto flags = read_file(dir + "/net/" + dev->interface + "/flags");
        auto v = flags ? parse_number(trim(*flags)) : std::nullopt;
        dev->interface_up = v && (*v & 1);
        break;
    }
    closedir(d);
}

}  // namespace

std::optional<std::string> read_file(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    close(fd);
    if (n < 0) return std::nullopt;
    return out;
}

std::optional<PcnetDevice> find_pcnet(std::string* error) {
    DIR* d = opendir(kDevices);
    if (!d) {
        *error = std::string("cannot read ") + kDevices + ": " + strerror(errno);
        return std::nullopt;
    }
    std::optional<PcnetDevice> found;
    bool saw_without_io = false;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::string dir = std::string(kDevices) + "/" + e->d_name;
        auto vendor = read_file(dir + "/vendor");
        auto device = read_file(dir + "/device");
        if (!vendor || !device || trim(*vendor) != "0x1022" || trim(*device) != "0x2000") continue;
        auto resource = read_file(dir + "/resource");
        auto bar0 = resource ? parse_bar0_io(*resource) : std::nullopt;
        if (!bar0) {
            saw_without_io = true;
            continue;
        }
        PcnetDevice dev{e->d_name, *bar0, driver_of(dir), {}, false};
        interface_of(dir, &dev);
        found = dev;
        break;
    }
    closedir(d);
    if (!found) {
        *error = saw_without_io ? "the PCnet NIC (1022:2000) has no I/O BAR0 in sysfs"
                                : "no PCnet NIC (PCI 1022:2000) in /sys/bus/pci/devices";
    }
    return found;
}

bool unbind_driver(const PcnetDevice& dev, std::string* error) {
    return write_file(std::string(kDevices) + "/" + dev.pci_address + "/driver/unbind",
                      dev.pci_address, error);
}

bool rebind_driver(const PcnetDevice& dev, const std::string& driver, std::string* error) {
    return write_file("/sys/bus/pci/drivers/" + driver + "/bind", dev.pci_address, error);
}

bool ensure_io_decoding(const PcnetDevice& dev, std::string* error, bool* changed) {
    *changed = false;
    std::string dir = std::string(kDevices) + "/" + dev.pci_address;
    auto config = read_file(dir + "/config");
    if (!config || config->size() < 6) {
        *error = "cannot read " + dir + "/config";
        return false;
    }
    constexpr unsigned kCommandIoSpace = 1;  // PCI command register (offset 4) bit 0
    if (static_cast<unsigned char>((*config)[4]) & kCommandIoSpace) return true;
    if (!write_file(dir + "/enable", "1", error)) return false;
    *changed = true;
    return true;
}

void disable_device(const PcnetDevice& dev) {
    std::string ignored;
    write_file(std::string(kDevices) + "/" + dev.pci_address + "/enable", "0", &ignored);
}

}  // namespace iotime
