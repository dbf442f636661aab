// The vCPUs kernel.elf runs on: every one the domain has (`pvvmm run
// --vcpus N`), found at boot with VCPUOP_is_up (Xen answers -ENOENT past
// the last) and started with VCPUOP_initialise + VCPUOP_up. Each has a
// per-CPU header at its kernel GS base (lib/percpu.hpp) naming it, and a
// stack of its own for its scheduler thread (the boot stack on vCPU 0).
// Per-CPU state lives with the module it belongs to, in arrays indexed by
// cpus::self() (scheduler, timer, address spaces).
#pragma once

#include <stdint.h>

namespace cpus {

constexpr unsigned max_cpus = 8;  // pvvmm's --vcpus limit; also bits of a vCPU mask word

// vCPU 0, at boot before anything per-CPU is used: installs its header
// and counts the domain's vCPUs.
void init_boot_cpu();
unsigned count();
inline uint64_t bit(unsigned id) { return uint64_t{1} << id; }
// vCPUs in a mask (a loop: no popcnt in the baseline ISA, no libgcc).
inline unsigned in_mask(uint64_t mask) {
    unsigned n = 0;
    for (; mask != 0; mask &= mask - 1)
        ++n;
    return n;
}
uint64_t all_mask();
unsigned self();

// vCPU 0, once the kernel is set up: starts every other vCPU, which runs
// `per_cpu_init` (with the kernel lock held) and then `scheduler`, which
// never returns; returns once each has said it is online.
void start_others(void (*per_cpu_init)(), void (*scheduler)());

}  // namespace cpus
