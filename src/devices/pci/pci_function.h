// One PCI function as the host bridge sees it: configuration reads and writes by offset, and the
// bus device behind each BAR so the owner of the buses can map it where the guest put it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "bus/bus_device.h"
#include "devices/pci/config_space.h"

namespace hvmm::pci {

class PciFunction {
  public:
    virtual ~PciFunction() = default;

    // offset + data.size() <= 256; the bridge splits nothing else.
    virtual void config_read(uint8_t offset, std::span<uint8_t> data) = 0;
    // Returns the BARs whose decoded range the write changed (BarChange::function left null;
    // the bridge fills it in).
    virtual std::vector<BarChange> config_write(uint8_t offset, std::span<const uint8_t> data) = 0;

    // The device that decodes BAR `index`, at offsets from the BAR's base; nullptr if none.
    virtual BusDevice* bar_device(int index) = 0;
    // The function's configuration space, for firmware-like setup and for tests.
    virtual ConfigSpace& config_space() = 0;
    virtual std::string_view name() const = 0;
};

// The common case: a function whose configuration is exactly its ConfigSpace. Subclasses react
// to command-register changes (bus mastering) by overriding command_written().
class ConfigSpaceFunction : public PciFunction {
  public:
    explicit ConfigSpaceFunction(const FunctionIdentity& identity) : config_(identity) {}

    void config_read(uint8_t offset, std::span<uint8_t> data) override {
        config_.read(offset, data);
    }
    std::vector<BarChange> config_write(uint8_t offset, std::span<const uint8_t> data) override {
        auto changes = config_.write(offset, data);
        command_written(config_.command());
        return changes;
    }
    ConfigSpace& config_space() override { return config_; }

  protected:
    // Called after every configuration write with the command register's value.
    virtual void command_written(uint16_t /*command*/) {}

    ConfigSpace config_;
};

}  // namespace hvmm::pci
