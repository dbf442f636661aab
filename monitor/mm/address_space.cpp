#include "monitor/mm/address_space.hpp"

#include "monitor/arch/x86_64/cpu.hpp"

namespace monitor {

namespace {
uint64_t loaded_cr3[layout::kMaxVcpus];
}

void load_guest_cr3(Vcpu& v) {
    const uint64_t cr3 = active_l4_mfn(v) << layout::kPageShift;
    if (loaded_cr3[v.id] == cr3)
        return;
    cpu::write_cr3(cr3);
    loaded_cr3[v.id] = cr3;
    v.counters->cr3_writes++;
}

}  // namespace monitor
