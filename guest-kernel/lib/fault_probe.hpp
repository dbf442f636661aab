// Instructions that are expected to fault, with the place to resume.
//
// Each probe emits a (faulting rip, resume rip) pair into .fault_fixups;
// the trap handler, when armed for that fault, moves rip to the resume
// address (like Linux's exception table), so a faulting probe simply
// completes without effect. Use them inside traps::catch_fault().
#pragma once

#include <stdint.h>

#define PROBE_FIXUP_ENTRY(fault_label, resume_label) \
    ".pushsection .fault_fixups, \"a\"\n\t.balign 8\n\t.quad " fault_label ", " resume_label "\n\t.popsection\n\t"

namespace probe {

struct FixupEntry {
    uint64_t fault_rip;
    uint64_t resume_rip;
};

// The resume address registered for a faulting rip, or 0.
uint64_t find_fixup(uint64_t fault_rip);

// The value read, or `if_faulted` when the read faulted.
inline uint64_t read_u64(uint64_t address, uint64_t if_faulted = 0xdeadbeefdeadbeef) {
    uint64_t value = if_faulted;
    asm volatile("1: movq (%[address]), %[value]\n2:\n\t" PROBE_FIXUP_ENTRY("1b", "2b")
                 : [value] "+r"(value)
                 : [address] "r"(address)
                 : "memory");
    return value;
}

inline void write_u64(uint64_t address, uint64_t value) {
    asm volatile("1: movq %[value], (%[address])\n2:\n\t" PROBE_FIXUP_ENTRY("1b", "2b")
                 :
                 : [value] "r"(value), [address] "r"(address)
                 : "memory");
}

// `int $0x80`; returns the address of the int instruction.
inline uint64_t int80() {
    uint64_t at;
    asm volatile("leaq 1f(%%rip), %[at]\n1: int $0x80\n2:\n\t" PROBE_FIXUP_ENTRY("1b", "2b")
                 : [at] "=r"(at)
                 :
                 : "memory");
    return at;
}

// `ud2`, which the #UD handler skips; returns the address of the ud2.
inline uint64_t ud2() {
    uint64_t at;
    asm volatile("leaq 1f(%%rip), %[at]\n1: ud2\n" : [at] "=r"(at) : : "memory");
    return at;
}

// `int3`, a trap: Xen reports the rip after it; returns that address.
inline uint64_t int3() {
    uint64_t after;
    asm volatile("leaq 1f(%%rip), %[after]\n\tint3\n1:\n" : [after] "=r"(after) : : "memory");
    return after;
}

// Divides by zero with `div`; returns the address of the div instruction.
inline uint64_t divide_by_zero() {
    uint64_t at;
    uint64_t dividend = 1, high = 0, divisor = 0;
    asm volatile("leaq 1f(%%rip), %[at]\n1: divq %[divisor]\n2:\n\t" PROBE_FIXUP_ENTRY("1b", "2b")
                 : [at] "=&r"(at), "+a"(dividend), "+d"(high)
                 : [divisor] "r"(divisor)
                 : "memory");
    return at;
}

}  // namespace probe
