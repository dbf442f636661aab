#include "mmu.hpp"

#include "../lib/hypercall.hpp"
#include "../lib/page_table.hpp"
#include "../lib/panic.hpp"
#include "cpus.hpp"
#include "direct_map.hpp"
#include "frames.hpp"

namespace mmu {
namespace {

Counters counted{};

void extended_op(unsigned command, uint64_t mfn_or_address, const char* what, const uint64_t* vcpus = nullptr) {
    mmuext_op_t op{};
    op.cmd = command;
    op.arg1.mfn = mfn_or_address;  // a union with linear_addr
    set_xen_guest_handle(op.arg2.vcpumask, reinterpret_cast<const void*>(vcpus));
    unsigned done = 0;
    long rc = hv::mmuext_op(&op, 1, &done);
    if (rc != 0)
        panic("mmuext_op(%s, %#lx) returned %ld", what, mfn_or_address, rc);
}

void remap(uint64_t pfn, uint64_t flags) {
    ++counted.va_updates;
    long rc = hv::update_va_mapping(frames::address(pfn), pt::entry(frames::mfn(pfn), flags), UVMF_INVLPG | UVMF_LOCAL);
    if (rc != 0)
        panic("update_va_mapping(direct map of pfn %#lx, flags %#lx) returned %ld", pfn, flags, rc);
}

}  // namespace

uint64_t entry_address(uint64_t table_pfn, unsigned index) { return (frames::mfn(table_pfn) << 12) + index * 8; }

void write_entry(uint64_t entry_machine_address, uint64_t value) {
    UpdateBatch batch;
    batch.add(entry_machine_address, value);
}

void UpdateBatch::add(uint64_t entry_machine_address, uint64_t value) {
    if (count_ == capacity)
        flush();
    requests_[count_].ptr = entry_machine_address | MMU_NORMAL_PT_UPDATE;
    requests_[count_].val = value;
    ++count_;
}

void UpdateBatch::remap(uint64_t pfn, bool writable) {
    add(direct_map::entry_address(pfn), pt::entry(frames::mfn(pfn), writable ? pt::kernel_rw : pt::kernel_ro));
}

void UpdateBatch::flush() {
    if (count_ == 0)
        return;
    unsigned done = 0;
    long rc = hv::mmu_update(requests_, count_, &done);
    if (rc != 0 || done != count_)
        panic("mmu_update of %u entries returned %ld after %u (entry %#lx <- %#lx)", count_, rc, done,
              done < count_ ? requests_[done].ptr : 0, done < count_ ? requests_[done].val : 0);
    counted.entry_updates += count_;
    count_ = 0;
}

void make_readonly(uint64_t pfn) { remap(pfn, pt::kernel_ro); }
void make_writable(uint64_t pfn) { remap(pfn, pt::kernel_rw); }

void set_current_mapping(uint64_t virtual_address, uint64_t entry, uint64_t vcpus) {
    ++counted.va_updates;
    // The monitor reads the mask through this pointer (UVMF_MULTI): on the
    // stack, which every L4 maps.
    const uint64_t mask = vcpus;
    uint64_t flags = UVMF_INVLPG | UVMF_LOCAL;
    if ((vcpus & ~cpus::bit(cpus::self())) != 0) {
        ++counted.remote_flushes;
        flags = UVMF_INVLPG | UVMF_MULTI | reinterpret_cast<uint64_t>(&mask);
    }
    long rc = hv::update_va_mapping(virtual_address, entry, flags);
    if (rc != 0)
        panic("update_va_mapping(%#lx, %#lx) returned %ld", virtual_address, entry, rc);
}

void pin(unsigned level, uint64_t pfn) {
    ++counted.pins;
    extended_op(MMUEXT_PIN_L1_TABLE + (level - 1), frames::mfn(pfn), "PIN_Ln_TABLE");
}

void unpin(uint64_t pfn) {
    ++counted.unpins;
    extended_op(MMUEXT_UNPIN_TABLE, frames::mfn(pfn), "UNPIN_TABLE");
}

void switch_base(uint64_t l4_pfn, uint64_t user_l4_pfn) {
    ++counted.base_switches;
    mmuext_op_t ops[2]{};
    ops[0].cmd = MMUEXT_NEW_BASEPTR;
    ops[0].arg1.mfn = frames::mfn(l4_pfn);
    ops[1].cmd = MMUEXT_NEW_USER_BASEPTR;
    ops[1].arg1.mfn = user_l4_pfn == frames::none ? 0 : frames::mfn(user_l4_pfn);
    unsigned done = 0;
    long rc = hv::mmuext_op(ops, 2, &done);
    if (rc != 0 || done != 2)
        panic("mmuext_op(NEW_BASEPTR + NEW_USER_BASEPTR, mfn %#lx) returned %ld after %u", ops[0].arg1.mfn, rc, done);
}

void flush_tlb() {
    ++counted.flushes;
    extended_op(MMUEXT_TLB_FLUSH_LOCAL, 0, "TLB_FLUSH_LOCAL");
}

void invalidate_page(uint64_t virtual_address) {
    ++counted.flushes;
    extended_op(MMUEXT_INVLPG_LOCAL, virtual_address, "INVLPG_LOCAL");
}

void flush_tlb_on(uint64_t vcpus) {
    if (vcpus == 0)
        return;
    if (vcpus == cpus::bit(cpus::self())) {
        flush_tlb();
        return;
    }
    ++counted.flushes;
    ++counted.remote_flushes;
    const uint64_t mask = vcpus;
    extended_op(MMUEXT_TLB_FLUSH_MULTI, 0, "TLB_FLUSH_MULTI", &mask);
}

void invalidate_page_on(uint64_t vcpus, uint64_t virtual_address) {
    if (vcpus == 0)
        return;
    if (vcpus == cpus::bit(cpus::self())) {
        invalidate_page(virtual_address);
        return;
    }
    ++counted.flushes;
    ++counted.remote_flushes;
    const uint64_t mask = vcpus;
    extended_op(MMUEXT_INVLPG_MULTI, virtual_address, "INVLPG_MULTI", &mask);
}

const Counters& counters() { return counted; }

}  // namespace mmu
