// Machine names of the host quirks (abi::HostQuirk) for the host's reports
// (`pvvmm run --stats=json`).
#pragma once

#include <stdint.h>

#include "guest-abi/host_channel.hpp"

namespace abi {

struct HostQuirkName {
    HostQuirk bit;
    const char* name;  // snake_case
};

inline constexpr HostQuirkName kHostQuirkNames[] = {
    {kQuirkSyscallStaysInRing3, "syscall_stays_in_ring3"},    {kQuirkIntNRaisesUd, "int_n_raises_ud"},
    {kQuirkSlot256FaultsRing3, "slot_256_faults_in_ring3"},   {kQuirkRing0Emulated, "ring0_emulated"},
    {kQuirkRing3HostSelectors, "ring3_reads_host_selectors"},
};

}  // namespace abi
