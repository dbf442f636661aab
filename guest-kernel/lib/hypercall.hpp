// Hypercalls through the hypercall page (XEN_ELFNOTE_HYPERCALL_PAGE).
//
// The hypervisor fills slot `nr` at hypercall_page + nr * 32 with
// `push %rcx; push %r11; mov $nr,%eax; syscall; pop %r11; pop %rcx; ret`,
// so a hypercall is a plain `call` with the arguments in rdi, rsi, rdx, r10,
// r8 and the result (a negative errno on failure) in rax. rcx and r11 are
// preserved by the slot. A debug Xen deliberately clobbers the argument
// registers on return, hence the in/out constraints.
#pragma once

#include "xen.hpp"

extern "C" char hypercall_page[4096];

namespace hv {

template <unsigned Number>
inline long call(uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0) {
    static_assert(Number < 4096 / 32, "the hypercall page has 128 slots");
    static_assert(Number != __HYPERVISOR_iret, "iret is jumped to, not called");
    register uint64_t r10 asm("r10") = a4;
    register uint64_t r8 asm("r8") = a5;
    long result;
    asm volatile("call hypercall_page + %c[offset]"
                 : "=a"(result), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                 : [offset] "i"(Number * 32)
                 : "memory");
    return result;
}

inline uint64_t arg(const volatile void* pointer) { return reinterpret_cast<uint64_t>(pointer); }

inline long set_trap_table(const trap_info* table) { return call<__HYPERVISOR_set_trap_table>(arg(table)); }

inline long mmu_update(const mmu_update_t* requests, unsigned count, unsigned* done, domid_t domain = DOMID_SELF) {
    return call<__HYPERVISOR_mmu_update>(arg(requests), count, arg(done), domain);
}

inline long update_va_mapping(uint64_t virtual_address, uint64_t pte, uint64_t flags) {
    return call<__HYPERVISOR_update_va_mapping>(virtual_address, pte, flags);
}

inline long mmuext_op(const mmuext_op_t* ops, unsigned count, unsigned* done, domid_t domain = DOMID_SELF) {
    return call<__HYPERVISOR_mmuext_op>(arg(ops), count, arg(done), domain);
}

inline long xen_version(int command, void* argument) {
    return call<__HYPERVISOR_xen_version>(static_cast<uint64_t>(command), arg(argument));
}

inline long console_io(int command, unsigned count, const char* buffer) {
    return call<__HYPERVISOR_console_io>(static_cast<uint64_t>(command), count, arg(buffer));
}

inline long sched_op(int command, void* argument) {
    return call<__HYPERVISOR_sched_op>(static_cast<uint64_t>(command), arg(argument));
}

inline long callback_op(int command, const void* argument) {
    return call<__HYPERVISOR_callback_op>(static_cast<uint64_t>(command), arg(argument));
}

inline long event_channel_op(int command, void* argument) {
    return call<__HYPERVISOR_event_channel_op>(static_cast<uint64_t>(command), arg(argument));
}

inline long memory_op(unsigned command, void* argument) { return call<__HYPERVISOR_memory_op>(command, arg(argument)); }

inline long vcpu_op(int command, unsigned vcpu, void* argument) {
    return call<__HYPERVISOR_vcpu_op>(static_cast<uint64_t>(command), vcpu, arg(argument));
}

}  // namespace hv
