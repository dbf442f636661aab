// The monitor's state: one PV domain (what the host built, shared_info,
// frame bookkeeping) and one Vcpu per CPU (1:1, never migrated).
#pragma once

#include <stdint.h>
#include <xen/xen.h>

#include "guest-abi/boot_info.hpp"
#include "guest-abi/host_channel.hpp"
#include "monitor/arch/x86_64/regs.hpp"
#include "vmm/layout.hpp"

namespace monitor {

struct TrapBounceTarget {
    uint64_t address = 0;
    uint16_t cs = 0;
    uint8_t dpl = 0;
    bool disables_events = false;  // trap_info "IF" flag: mask upcalls on entry
};

// A guest GDT or LDT: the guest frames it was loaded from (each holding a
// SegDesc type reference) and its entry count; the monitor runs on a copy.
struct DescriptorTable {
    static constexpr uint64_t kMaxFrames = 16;  // 64 KiB: the architectural limit
    uint64_t frames[kMaxFrames] = {};
    uint64_t nr_frames = 0;
    uint64_t entries = 0;
};

struct Vcpu {
    uint32_t id = 0;
    abi::HostChannel* channel = nullptr;
    abi::Counters* counters = nullptr;
    bool kernel_mode = true;
    uint64_t kernel_l4_mfn = 0;
    uint64_t user_l4_mfn = 0;  // 0: none registered
    uint64_t kernel_ss = 0, kernel_sp = 0;
    uint64_t fs_base = 0, gs_base_kernel = 0, gs_base_user = 0;
    TrapBounceTarget traps[256];
    uint64_t event_callback = 0, failsafe_callback = 0, syscall_callback = 0;
    bool syscall_disables_events = false;
    DescriptorTable gdt;  // set_gdt
    DescriptorTable ldt;  // MMUEXT_SET_LDT
};

struct Domain {
    abi::BootInfo boot;
    shared_info_t* shared_info = nullptr;
    uint32_t quirks = 0;
};

// Inline: these sit on every entry path, where each ring-0 instruction costs
// about a thousand cycles on emulating hosts.
extern Domain the_domain;
extern Vcpu the_vcpus[layout::kMaxVcpus];
inline Domain& domain() { return the_domain; }
inline Vcpu& vcpu(uint32_t id) { return the_vcpus[id]; }
inline Vcpu& current() { return *this_cpu()->vcpu; }

inline vcpu_info_t& vcpu_info(const Vcpu& v) { return domain().shared_info->vcpu_info[v.id]; }

inline bool has_quirk(abi::HostQuirk q) { return (domain().quirks & q) != 0; }

// Guest frames as the monitor sees them: through the direct map.
template <typename T = void>
inline T* frame_ptr(uint64_t mfn) {
    return reinterpret_cast<T*>(layout::direct_map(mfn << layout::kPageShift));
}
inline bool is_domain_mfn(uint64_t mfn) {
    const auto& d = domain().boot.domain;
    return mfn >= d.first_mfn && mfn < d.first_mfn + d.nr_pages;
}

}  // namespace monitor
