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
#include "monitor/mm/pv_mmu.hpp"
#include "monitor/state.hpp"
#include "pagetables/entry.hpp"

namespace monitor {

namespace {

constexpr uint64_t kMaxBatch = 1u << 20;
constexpr uint64_t kMemopCmdMask = (1u << 6) - 1;  // Xen: low bits are the command, the rest an extent start

uint64_t active_l4(const Vcpu& v) { return (!v.kernel_mode && v.user_l4_mfn) ? v.user_l4_mfn : v.kernel_l4_mfn; }

void flush_after_update(Vcpu& v, uint64_t flags, uint64_t va) {
    switch (flags & UVMF_FLUSHTYPE_MASK) {
    case UVMF_TLB_FLUSH: flush_tlb_local(v); break;
    case UVMF_INVLPG:
        cpu::invlpg(va);
        v.counters->invlpg_local++;
        break;
    default: break;
    }
}

// Switch a base pointer: take the new root's L4 type, drop the old one.
int64_t set_base(Vcpu& v, uint64_t mfn, bool user) {
    uint64_t& slot = user ? v.user_l4_mfn : v.kernel_l4_mfn;
    if (user && mfn == 0) {
        if (slot)
            mm::put_page_type(slot);
        slot = 0;
        load_guest_cr3(v);
        return 0;
    }
    if (int rc = mm::get_page_type(mfn, mm::FrameType::L4); rc < 0)
        return rc;
    if (slot)
        mm::put_page_type(slot);
    slot = mfn;
    load_guest_cr3(v);
    return 0;
}

}  // namespace

int64_t hc_update_va_mapping(GuestRegs&, const HypercallArgs& a) {
    Vcpu& v = current();
    const uint64_t va = a.a1(), val = a.a2(), flags = a.a3();
    if (!pt::is_canonical(va) || (va >= HYPERVISOR_VIRT_START && va < HYPERVISOR_VIRT_END))
        return -EINVAL;
    if (flags & ~(uint64_t{UVMF_FLUSHTYPE_MASK} | UVMF_ALL))
        return -EINVAL;
    const uint64_t l1 = mm::find_l1(active_l4(v), va);
    if (l1 == 0)
        return -EINVAL;
    if (int rc = mm::update_entry(l1, pt::table_index(va, 1), val); rc < 0)
        return rc;
    flush_after_update(v, flags, va);
    return 0;
}

int64_t hc_mmu_update(GuestRegs&, const HypercallArgs& a) {
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
        const uint64_t cmd = req.ptr & 3;
        const uint64_t addr = req.ptr & ~3ull;
        if (cmd == MMU_NORMAL_PT_UPDATE) {
            rc = mm::update_entry(addr >> 12, static_cast<unsigned>((addr & 0xfff) >> 3), req.val);
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

int64_t hc_mmuext_op(GuestRegs&, const HypercallArgs& a) {
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
            mm::frame(mfn).pinned = 0;
            mm::put_page_type(mfn);
            break;
        }
        case MMUEXT_NEW_BASEPTR: rc = v.kernel_mode ? set_base(v, mfn, false) : -EINVAL; break;
        case MMUEXT_NEW_USER_BASEPTR: rc = set_base(v, mfn, true); break;
        case MMUEXT_TLB_FLUSH_LOCAL: flush_tlb_local(v); break;
        case MMUEXT_INVLPG_LOCAL:
            cpu::invlpg(op.arg1.linear_addr);
            v.counters->invlpg_local++;
            break;
        default: rc = unknown_subop("mmuext_op", op.cmd); break;
        }
        if (rc < 0)
            break;
    }
    if (a.a3() != 0 && !GuestPtr<unsigned>(a.a3()).write(static_cast<unsigned>(done)))
        return -EFAULT;
    return rc;
}

int64_t hc_memory_op(GuestRegs&, const HypercallArgs& a) {
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
