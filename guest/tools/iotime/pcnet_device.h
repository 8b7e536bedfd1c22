// Finding the PCnet-PCI II (1022:2000) in sysfs and keeping its driver out of the way: pcnet32
// drives the chip through the same RAP/RDP pair iotime times, so an interface that is up (its
// watchdog and interrupt handler select registers through RAP) would race the measurement.
#pragma once

#include <stdint.h>

#include <optional>
#include <string>

#include "parse.h"

namespace iotime {

struct PcnetDevice {
    std::string pci_address;  // e.g. 0000:00:03.0
    IoRange bar0;             // the I/O window
    std::string driver;       // bound driver's name, empty when none
    std::string interface;    // its network interface (eth0), empty when none
    bool interface_up = false;
};

// The first 1022:2000 function with an I/O BAR0; nullopt with *error set when there is none.
std::optional<PcnetDevice> find_pcnet(std::string* error);

// Unbinds the device from its driver (sysfs unbind). True on success.
bool unbind_driver(const PcnetDevice& dev, std::string* error);

// Binds it to `driver` again (sysfs bind): the driver's probe resets the chip, so whatever iotime
// left in it does not matter to the driver afterwards.
bool rebind_driver(const PcnetDevice& dev, const std::string& driver, std::string* error);

// An unbound function may have I/O decoding off in its PCI command register (a driver's
// pci_disable_device or a firmware that never enabled it). Turns it on through sysfs `enable` if
// so; returns true when it did (so the caller turns it off again).
bool ensure_io_decoding(const PcnetDevice& dev, std::string* error, bool* changed);
void disable_device(const PcnetDevice& dev);

std::optional<std::string> read_file(const std::string& path);

}  // namespace iotime
