// How a platform device tells the machine the guest asked to reset or power off. The machine
// ends the run; the device only reports.
#pragma once

namespace hvmm {

class PowerEvents {
  public:
    virtual ~PowerEvents() = default;
    virtual void reset_requested() = 0;
    virtual void poweroff_requested() = 0;
};

}  // namespace hvmm
