// Checks shared by the subtests that provoke faults: how Xen must present
// a fault taken in guest kernel mode in the bounce frame.
#pragma once

#include "../lib/format.hpp"
#include "../lib/traps.hpp"

// Empty string when `fault` is a `vector` fault delivered as Xen does for a
// fault in guest kernel mode with event upcalls masked; otherwise why not.
// (create_bounce_frame: CS with RPL cleared, SS = FLAT_KERNEL_SS, saved
// upcall mask in CS bits 32-39, RFLAGS.IF = !saved mask.)
inline bool kernel_mode_fault_ok(const traps::Fault& fault, unsigned vector, char* why, size_t size) {
    if (!fault.taken) {
        format_to(why, size, "no %s delivered", traps::vector_name(vector));
        return false;
    }
    if (fault.vector != vector) {
        format_to(why, size, "%s delivered instead of %s", traps::vector_name(fault.vector),
                  traps::vector_name(vector));
        return false;
    }
    if (fault.cs != (FLAT_KERNEL_CS64 & ~3)) {
        format_to(why, size, "bounce frame cs %#x, expected %#x (RPL cleared for kernel mode)", fault.cs,
                  FLAT_KERNEL_CS64 & ~3);
        return false;
    }
    if (fault.ss != FLAT_KERNEL_SS64) {
        format_to(why, size, "bounce frame ss %#x, expected %#x", fault.ss, FLAT_KERNEL_SS64);
        return false;
    }
    if (fault.saved_upcall_mask != 1) {
        format_to(why, size, "saved upcall mask %u, expected 1 (masked)", fault.saved_upcall_mask);
        return false;
    }
    if ((fault.rflags & (1u << 9)) != 0) {
        format_to(why, size, "bounce frame rflags %#lx has IF set while upcalls were masked", fault.rflags);
        return false;
    }
    return true;
}

// Returns the failure from the current subtest unless the fault is right.
#define REQUIRE_KERNEL_FAULT(fault, vector, what)                        \
    do {                                                                 \
        char why_[160];                                                  \
        if (!kernel_mode_fault_ok((fault), (vector), why_, sizeof why_)) \
            return failed("%s: %s", (what), why_);                       \
    } while (0)
