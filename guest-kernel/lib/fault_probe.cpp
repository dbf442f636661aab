#include "fault_probe.hpp"

// Bounds of .fault_fixups, from the linker script.
extern "C" const probe::FixupEntry __start_fault_fixups[];
extern "C" const probe::FixupEntry __stop_fault_fixups[];

namespace probe {

uint64_t find_fixup(uint64_t fault_rip) {
    for (const FixupEntry* entry = __start_fault_fixups; entry != __stop_fault_fixups; ++entry) {
        if (entry->fault_rip == fault_rip)
            return entry->resume_rip;
    }
    return 0;
}

}  // namespace probe
