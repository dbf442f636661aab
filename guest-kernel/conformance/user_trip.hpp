// What a conformance subtest needs before it can visit user mode: a kernel
// stack for Xen's bounce (stack_switch), the syscall callback, and a user
// base pointer (the current L4: 64-bit PV kernel mappings are user-visible).
#pragma once

#include "../lib/user_mode.hpp"
#include "mmu_helpers.hpp"
#include "subtest.hpp"

extern "C" char switch_stack[], user_stack[];

namespace user_trip {

inline uint64_t kernel_stack_top() { return mmu::address(switch_stack) + 4096; }
// Where user mode starts its stack (user_mode_enter's rsp).
inline uint64_t user_stack_pointer() { return mmu::address(user_stack) + 4096 - 64; }

// nullptr when user mode can be entered, else the step that failed.
inline const char* prepare() {
    if (hv::call<__HYPERVISOR_stack_switch>(FLAT_KERNEL_SS, kernel_stack_top()) != 0)
        return "stack_switch failed";
    callback_register cb{};
    cb.type = CALLBACKTYPE_syscall;
    cb.flags = CALLBACKF_mask_events;
    cb.address = reinterpret_cast<xen_callback_t>(user_mode_syscall_callback);
    if (hv::callback_op(CALLBACKOP_register, &cb) != 0)
        return "registering the syscall callback failed";
    if (mmu::mmuext_mfn(MMUEXT_NEW_USER_BASEPTR, physmap::virt_to_mfn(setup().info->pt_base)) != 0)
        return "NEW_USER_BASEPTR failed";
    return nullptr;
}

// Leaves no user base pointer behind for later subtests.
[[nodiscard]] inline long finish() { return mmu::mmuext_mfn(MMUEXT_NEW_USER_BASEPTR, 0); }

}  // namespace user_trip
