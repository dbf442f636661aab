// Page-table hypercalls (update_va_mapping, mmu_update, mmuext_op) on top of
// the validating PV MMU, and the memory_op queries a booting guest makes.
#include <stdint.h>
#include <xen/memory.h>
#include <xen/xen.h>

#include "monitor/arch/x86_64/cpu.hpp"
#include "monitor/hypercall/guest_ptr.hpp"
#include "monitor/hypercall/hypercall.hpp"
#include "monitor/lib/xen_errno.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/address_space.hpp"
#include "monitor/mm/flush.hpp"
#include "monitor/mm/pv_mmu.hpp"
#include "monitor/state.hpp"
#include "pagetables/entry.hpp"

namespace monitor {

namespace {

constexpr uint64_t kMaxBatch = 1u << 20;
constexpr uint64_t kMemopCmdMask = (1u << 6) - 1;  // Xen: low bits are the command, the rest an extent start

// Which vCPUs a flush covers: Xen's UVMF_LOCAL/UVMF_ALL, or a guest pointer
// to a vCPU bitmap (UVMF_MULTI, MMUEXT_*_MULTI).
bool flush_scope_from_mask(uint64_t mask_ptr, FlushScope& scope) {
    uint64_t mask;
    if (!GuestPtr<uint64_t>(mask_ptr).read(mask))
        return false;
    scope = FlushScope{mask};
    return true;
}

int64_t flush_after_update(uint64_t flags, uint64_t va) {
    const uint64_t type = flags & UVMF_FLUSHTYPE_MASK;
    if (type == UVMF_NONE)
        return 0;
    const uint64_t target = flags & ~UVMF_FLUSHTYPE_MASK;  // UVMF_LOCAL, UVMF_ALL or a vCPU bitmap pointer
    FlushScope scope = target == UVMF_ALL ? FlushScope::all() : FlushScope::local();
    if (target != UVMF_LOCAL && target != UVMF_ALL && !flush_scope_from_mask(target, scope))
        return -EFAULT;
    if (type == UVMF_TLB_FLUSH)
        flush_all(FlushReason::UpdateVaMapping, scope);
    else if (type == UVMF_INVLPG)
        flush_one(FlushReason::UpdateVaMapping, scope, va);
    else
        return -EINVAL;
    return 0;
}

// A frame the guest may write through the monitor (COPY_PAGE/CLEAR_PAGE
// destination): its own, and not typed as a page table or descriptor page.
bool writable_data_frame(uint64_t mfn) {
    return is_domain_mfn(mfn) && (mm::frame(mfn).type_count == 0 || mm::frame(mfn).type == mm::FrameType::None);
}

}  // namespace

// Switch a base pointer: take the new root's L4 type, drop the old one.
// Only a change of the L4 in use reaches CR3 (NEW_USER_BASEPTR in kernel
// mode, the common case, does not). NEW_BASEPTR (kernel mode only) with the
// L4 already in use reloads it, which flushes its TLB entries, as Xen's
// write_ptbase does; guests may use it as a flush.
int64_t set_base(Vcpu& v, uint64_t mfn, bool user) {
    uint64_t& slot = user ? v.user_l4_mfn : v.kernel_l4_mfn;
    const uint64_t active_before = active_l4_mfn(v);
    if (!(user && mfn == 0)) {
        if (int rc = mm::get_page_type(mfn, mm::FrameType::L4); rc < 0)
            return rc;
    }
    const uint64_t previous = slot;
    slot = mfn;
    if (active_l4_mfn(v) != active_before)
        load_guest_cr3(v);
    else if (!user)
        flush_all(FlushReason::GuestFlushRequest, FlushScope::local());
    // Only now, off the old L4: if this was its last reference, XPTI drops
    // every restricted root copied from it (it keeps the one it runs on).
    // Released first, the running root kept its copies of the old L4's
    // slots after the switch, and Linux frees the boot L4's tables.
    if (previous)
        mm::put_page_type(previous);
    return 0;
}

int64_t hc_update_va_mapping(GuestRegs&, HypercallArgs a) {
    Vcpu& v = current();
    const uint64_t va = a.a1(), val = a.a2(), flags = a.a3();
    if (!pt::is_canonical(va) || (va >= HYPERVISOR_VIRT_START && va < HYPERVISOR_VIRT_END))
        return -EINVAL;
    const uint64_t l1 = mm::find_l1(active_l4_mfn(v), va);
    if (l1 == 0)
        return -EINVAL;
    if (int rc = mm::update_entry(l1, pt::table_index(va, 1), val); rc < 0)
        return rc;
    return flush_after_update(flags, va);
}

int64_t hc_mmu_update(GuestRegs&, HypercallArgs a) {
    if (a.a2() > kMaxBatch)
        return -EINVAL;
    GuestPtr<mmu_update_t> reqs(a.a1());
    int64_t rc = 0;
    uint64_t done = 0;
    for (; done < a.a2(); ++done) {
        mmu_update_t req;
        if (!reqs.read(req, done)) {
            rc = -EFAULT;
            break;
        }
        // The command lives in the low bits an aligned entry address leaves
        // free (Xen: ptr & (sizeof(l1_pgentry_t) - 1)).
        const uint64_t cmd = req.ptr & 7;
        const uint64_t addr = req.ptr & ~7ull;
        if (cmd == MMU_NORMAL_PT_UPDATE || cmd == MMU_PT_UPDATE_PRESERVE_AD) {
            rc = mm::update_entry(addr >> 12, static_cast<unsigned>((addr & 0xfff) >> 3), req.val,
                                  cmd == MMU_PT_UPDATE_PRESERVE_AD);
        } else if (cmd == MMU_MACHPHYS_UPDATE) {
            const uint64_t mfn = addr >> 12;
            if (!is_domain_mfn(mfn))
                rc = -EINVAL;
            else
                reinterpret_cast<uint64_t*>(layout::direct_map(layout::kM2pGpa))[mfn] = req.val;
        } else {
            rc = -ENOSYS;
        }
        if (rc < 0)
            break;
    }
    if (a.a3() != 0 && !GuestPtr<unsigned>(a.a3()).write(static_cast<unsigned>(done)))
        return -EFAULT;
    return rc;
}

int64_t hc_mmuext_op(GuestRegs&, HypercallArgs a) {
    Vcpu& v = current();
    if (a.a2() > kMaxBatch)
        return -EINVAL;
    GuestPtr<mmuext_op_t> ops(a.a1());
    int64_t rc = 0;
    uint64_t done = 0;
    for (; done < a.a2(); ++done) {
        mmuext_op_t op;
        if (!ops.read(op, done)) {
            rc = -EFAULT;
            break;
        }
        const uint64_t mfn = op.arg1.mfn;
        switch (op.cmd) {
        case MMUEXT_PIN_L1_TABLE:
        case MMUEXT_PIN_L2_TABLE:
        case MMUEXT_PIN_L3_TABLE:
        case MMUEXT_PIN_L4_TABLE: {
            if (!is_domain_mfn(mfn)) {
                rc = -EINVAL;
                break;
            }
            auto& f = mm::frame(mfn);
            if (f.pinned) {
                rc = -EINVAL;
                break;
            }
            rc = mm::get_page_type(mfn, mm::table_type(static_cast<int>(op.cmd - MMUEXT_PIN_L1_TABLE) + 1));
            if (rc == 0)
                f.pinned = 1;
            break;
        }
        case MMUEXT_UNPIN_TABLE: {
            if (!is_domain_mfn(mfn) || !mm::frame(mfn).pinned) {
                rc = -EINVAL;
                break;
            }
            // As in Xen, the base pointer in use may be unpinned: it holds
            // its own type reference (set_base), so the table stays an L4.
            mm::frame(mfn).pinned = 0;
            mm::put_page_type(mfn);
            break;
        }
        case MMUEXT_NEW_BASEPTR: rc = v.kernel_mode ? set_base(v, mfn, false) : -EINVAL; break;
        case MMUEXT_NEW_USER_BASEPTR: rc = set_base(v, mfn, true); break;
        case MMUEXT_TLB_FLUSH_LOCAL: flush_all(FlushReason::GuestFlushRequest, FlushScope::local()); break;
        case MMUEXT_TLB_FLUSH_ALL: flush_all(FlushReason::GuestFlushRequest, FlushScope::all()); break;
        case MMUEXT_INVLPG_LOCAL:
            flush_one(FlushReason::GuestFlushRequest, FlushScope::local(), op.arg1.linear_addr);
            break;
        case MMUEXT_INVLPG_ALL:
            flush_one(FlushReason::GuestFlushRequest, FlushScope::all(), op.arg1.linear_addr);
            break;
        case MMUEXT_TLB_FLUSH_MULTI:
        case MMUEXT_INVLPG_MULTI: {
            FlushScope scope{};
            if (!flush_scope_from_mask(reinterpret_cast<uint64_t>(op.arg2.vcpumask.p), scope)) {
                rc = -EFAULT;
                break;
            }
            if (op.cmd == MMUEXT_TLB_FLUSH_MULTI)
                flush_all(FlushReason::GuestFlushRequest, scope);
            else
                flush_one(FlushReason::GuestFlushRequest, scope, op.arg1.linear_addr);
            break;
        }
        case MMUEXT_CLEAR_PAGE:
            if (!writable_data_frame(mfn)) {
                rc = -EINVAL;
                break;
            }
            __builtin_memset(frame_ptr<void>(mfn), 0, layout::kPageSize);
            break;
        case MMUEXT_COPY_PAGE: {
            const uint64_t src = op.arg2.src_mfn;
            if (!writable_data_frame(mfn) || !mm::guest_may_map(src) || src == mfn) {
                rc = -EINVAL;
                break;
            }
            __builtin_memcpy(frame_ptr<void>(mfn), frame_ptr<const void>(src), layout::kPageSize);
            break;
        }
        case MMUEXT_SET_LDT: rc = set_ldt(op.arg1.linear_addr, op.arg2.nr_ents); break;
        default: rc = unknown_subop("mmuext_op", op.cmd); break;
        }
        if (rc < 0)
            break;
    }
    if (a.a3() != 0 && !GuestPtr<unsigned>(a.a3()).write(static_cast<unsigned>(done)))
        return -EFAULT;
    return rc;
}

namespace {

// Xen's struct e820entry (public/arch-x86/xen.h has no C type for it).
struct [[gnu::packed]] E820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};
static_assert(sizeof(E820Entry) == 20);
constexpr uint32_t kE820Ram = 1;

// The map libxl sets for every PV domU (xc_domain_set_memmap_limit): one
// RAM entry from 0 over the domain's memory. Xen copies at most as many
// entries as the guest has room for and reports how many it copied.
int64_t memory_map(uint64_t arg, uint64_t nr_pages) {
    xen_memory_map_t map;
    if (!GuestPtr<xen_memory_map_t>(arg).read(map))
        return -EFAULT;
    const E820Entry ram{0, nr_pages << layout::kPageShift, kE820Ram};
    map.nr_entries = map.nr_entries < 1 ? 0 : 1;
    if (map.nr_entries == 1 && !GuestPtr<E820Entry>(reinterpret_cast<uint64_t>(map.buffer.p)).write(ram))
        return -EFAULT;
    return GuestPtr<xen_memory_map_t>(arg).write(map) ? 0 : -EFAULT;
}

}  // namespace

int64_t hc_memory_op(GuestRegs&, HypercallArgs a) {
    const auto& d = domain().boot.domain;
    switch (a.a1() & kMemopCmdMask) {
    case XENMEM_machphys_mapping: {
        xen_machphys_mapping_t m{};
        // Hosts whose ring 3 cannot read slot 256 get the alias instead.
        m.v_start = has_quirk(abi::kQuirkSlot256FaultsRing3) ? layout::kM2pRoAliasVirt : layout::kM2pRoVirt;
        m.v_end = m.v_start + domain().boot.total_frames * 8;
        m.max_mfn = domain().boot.total_frames - 1;
        return GuestPtr<xen_machphys_mapping_t>(a.a2()).write(m) ? 0 : -EFAULT;
    }
    case XENMEM_memory_map: return memory_map(a.a2(), d.nr_pages);
    case XENMEM_maximum_ram_page: return static_cast<int64_t>(d.first_mfn + d.nr_pages - 1);
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation: {
        domid_t dom;
        if (!GuestPtr<domid_t>(a.a2()).read(dom))
            return -EFAULT;
        return dom == DOMID_SELF ? static_cast<int64_t>(d.nr_pages) : -ESRCH;
    }
    case XENMEM_maximum_gpfn: {
        domid_t dom;
        if (!GuestPtr<domid_t>(a.a2()).read(dom))
            return -EFAULT;
        return dom == DOMID_SELF ? static_cast<int64_t>(d.nr_pages - 1) : -ESRCH;
    }
    default: return unknown_subop("memory_op", a.a1());
    }
}

}  // namespace monitor
