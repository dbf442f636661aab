#include "monitor/mm/flush.hpp"

#include "monitor/arch/x86_64/cpu.hpp"

namespace monitor {

// Other vCPUs of the domain never run guest code yet (VCPUOP_up is not
// implemented), so a flush of "all" vCPUs is the local one; once they do,
// the remote part goes here (IPIs carrying the request).
void flush_all(FlushReason reason, FlushScope /*scope*/) {
    Vcpu& v = current();
    cpu::write_cr3(cpu::read_cr3());
    v.counters->cr3_writes++;
    v.counters->tlb_flushes[static_cast<uint32_t>(reason)]++;
}

void flush_one(FlushReason reason, FlushScope /*scope*/, uint64_t va) {
    cpu::invlpg(va);
    current().counters->invlpgs[static_cast<uint32_t>(reason)]++;
}

}  // namespace monitor
