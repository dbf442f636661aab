// The host's half of the guard against lost timer interrupts (seen on the
// nested backend: a vCPU halted for good, a Linux boot hung). A vCPU whose
// monitor shows the same timer state at two looks in a row (the same idle
// halt, or the same armed LAPIC deadline while it runs) gets a host kick:
// woken, the monitor re-arms a deadline whose interrupt never came
// (timer::kOverdueNs). A vCPU that merely waits pays one wake-up per look.
#pragma once

#include <stdint.h>

#include <chrono>
#include <vector>

#include "guest-abi/host_channel.hpp"
#include "vmm/kvm/vm.hpp"

namespace pvvmm {

class StallWatch {
public:
    static constexpr std::chrono::milliseconds kLookInterval{500};

    StallWatch(const kvm::Vm& vm, std::vector<abi::HostChannel*> channels);
    // One look at every vCPU; kicks those whose timer state has not moved.
    void look();

private:
    struct TimerState {
        uint64_t halted_at_tsc = 0, deadline_tsc = 0;
        bool operator==(const TimerState&) const = default;
    };

    const kvm::Vm& vm_;
    std::vector<abi::HostChannel*> channels_;
    std::vector<TimerState> last_;
};

}  // namespace pvvmm
