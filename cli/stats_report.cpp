#include "cli/stats_report.hpp"

#include <fmt/format.h>
#include <stdint.h>
#include <xen/xen.h>

namespace pvvmm::cli {

namespace {

const char* hypercall_name(unsigned nr) {
    switch (nr) {
    case __HYPERVISOR_set_trap_table: return "set_trap_table";
    case __HYPERVISOR_mmu_update: return "mmu_update";
    case __HYPERVISOR_set_gdt: return "set_gdt";
    case __HYPERVISOR_update_descriptor: return "update_descriptor";
    case __HYPERVISOR_stack_switch: return "stack_switch";
    case __HYPERVISOR_set_callbacks: return "set_callbacks";
    case __HYPERVISOR_fpu_taskswitch: return "fpu_taskswitch";
    case __HYPERVISOR_memory_op: return "memory_op";
    case __HYPERVISOR_multicall: return "multicall";
    case __HYPERVISOR_update_va_mapping: return "update_va_mapping";
    case __HYPERVISOR_set_timer_op: return "set_timer_op";
    case __HYPERVISOR_xen_version: return "xen_version";
    case __HYPERVISOR_console_io: return "console_io";
    case __HYPERVISOR_grant_table_op: return "grant_table_op";
    case __HYPERVISOR_vm_assist: return "vm_assist";
    case __HYPERVISOR_iret: return "iret";
    case __HYPERVISOR_vcpu_op: return "vcpu_op";
    case __HYPERVISOR_set_segment_base: return "set_segment_base";
    case __HYPERVISOR_mmuext_op: return "mmuext_op";
    case __HYPERVISOR_sched_op: return "sched_op";
    case __HYPERVISOR_callback_op: return "callback_op";
    case __HYPERVISOR_event_channel_op: return "event_channel_op";
    case __HYPERVISOR_physdev_op: return "physdev_op";
    default: return nullptr;
    }
}

const char* vector_name(unsigned v) {
    static const char* const names[32] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09", "#TS",
                                          "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
                                          "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31"};
    return v < 32 ? names[v] : "?";
}

void row(std::FILE* out, const char* name, uint64_t value) {
    if (value)
        fmt::print(out, "  {:<40} {:>12}\n", name, value);
}

}  // namespace

void print_stats(std::FILE* out, const RunResult& result) {
    fmt::print(out, "pvvmm statistics\n");
    fmt::print(out, "host KVM: bare ring 3 -> 0 -> 3 round trip (int3 + iretq) median {} cycles, min {}\n",
               result.bare_round_trip_median, result.bare_round_trip_min);
    for (size_t i = 0; i < result.vcpus.size(); ++i) {
        const auto& c = result.vcpus[i].counters;
        fmt::print(out, "vCPU {}:\n", i);
        fmt::print(out, "  {:<40} {:>12}\n", "guest entries", c.guest_entries);
        fmt::print(out, "  {:<40} {:>12}\n", "guest exits", c.guest_exits);
        const bool xpti = c.xpti_state & abi::kXptiStateOn;
        // entry.S switches CR3 on every entry and exit under XPTI (not counted there).
        const uint64_t switches = xpti ? c.guest_entries + c.guest_exits : 0;
        fmt::print(out, "  XPTI {}, PCID {}, global pages {}\n", xpti ? "on" : "off",
                   c.xpti_state & abi::kXptiStatePcid ? "in use" : "not in use",
                   c.xpti_state & abi::kXptiStateGlobal ? "on" : "off");
        fmt::print(out, "  {:<40} {:>12}\n", "CR3 writes", c.cr3_writes + switches);
        row(out, "CR3 writes: XPTI entry/exit switches", switches);
        row(out, "L4 copies", c.l4_copies);
        row(out, "L4 slots copied", c.l4_slots_copied);
        row(out, "root cache hits", c.root_cache_hits);
        row(out, "root cache misses", c.root_cache_misses);
        row(out, "root cache slot updates", c.root_slot_updates);
        row(out, "PGE toggles", c.pge_toggles);
        for (unsigned t = 0; t < 4; ++t)
            row(out, fmt::format("INVPCID type {}", t).c_str(), c.invpcids[t]);
        for (uint32_t reason = 0; reason < abi::kFlushReasons; ++reason) {
            const char* name = abi::flush_reason_name(static_cast<abi::FlushReason>(reason));
            row(out, fmt::format("TLB flushes: {}", name).c_str(), c.tlb_flushes[reason]);
            row(out, fmt::format("INVLPG: {}", name).c_str(), c.invlpgs[reason]);
        }
        row(out, "syscalls from guest user", c.syscalls_from_user);
        row(out, "exceptions bounced to guest", c.exceptions_bounced);
        row(out, "emulated CPUID", c.emulated_cpuid);
        row(out, "emulated privileged insns", c.emulated_privileged);
        row(out, "emulated M2P reads (quirk)", c.emulated_m2p_reads);
        row(out, "emulated int N (quirk)", c.emulated_int_n);
        row(out, "syscall entries via #PF", c.syscall_via_fault);
        row(out, "syscall entries via int3", c.syscall_via_trampoline);
        row(out, "PV MMU audits", c.audits);
        row(out, "single-steps (diagnostic)", result.vcpus[i].single_steps);
        for (unsigned nr = 0; nr < abi::kHypercallSlots; ++nr) {
            if (!c.hypercalls[nr])
                continue;
            const char* name = hypercall_name(nr);
            fmt::print(out, "  hypercall {:<30} {:>12}", name ? name : fmt::format("#{}", nr), c.hypercalls[nr]);
            if (c.hypercalls_refused[nr])
                fmt::print(out, "  ({} refused)", c.hypercalls_refused[nr]);
            fmt::print(out, "\n");
        }
        row(out, "hypercalls unknown (ENOSYS)", c.hypercalls_unknown);
        row(out, "sub-ops unknown (ENOSYS)", c.subops_unknown);
        for (unsigned v = 0; v < abi::kVectorSlots; ++v)
            if (c.exceptions[v])
                fmt::print(out, "  exception {:<4} (vector {:>2})                 {:>12}\n", vector_name(v), v,
                           c.exceptions[v]);
    }
}

}  // namespace pvvmm::cli
