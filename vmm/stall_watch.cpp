#include "vmm/stall_watch.hpp"

#include <spdlog/spdlog.h>

#include "guest-abi/layout.hpp"

namespace pvvmm {

StallWatch::StallWatch(const kvm::Vm& vm, std::vector<abi::HostChannel*> channels)
    : vm_(vm), channels_(std::move(channels)), last_(channels_.size()) {}

void StallWatch::look() {
    for (uint32_t id = 0; id < channels_.size(); ++id) {
        const TimerState now{__atomic_load_n(&channels_[id]->halted_at_tsc, __ATOMIC_ACQUIRE),
                             __atomic_load_n(&channels_[id]->timer_deadline_tsc, __ATOMIC_ACQUIRE)};
        const bool waits = now.halted_at_tsc != 0 || now.deadline_tsc != 0;
        const bool unmoved = waits && now == last_[id];
        last_[id] = now;
        if (!unmoved)
            continue;
        // x2APIC ids are vCPU ids (monitor/arch/x86_64/lapic.hpp).
        if (auto r = vm_.signal_msi(id, layout::kHostKickVector); !r)
            spdlog::debug("stall watch: {}", r.error().message);
    }
}

}  // namespace pvvmm
