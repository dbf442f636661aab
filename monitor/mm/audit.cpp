#include "monitor/mm/audit.hpp"

#include "monitor/lib/format.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/pv_mmu_env.hpp"
#include "monitor/state.hpp"
#include "pagetables/pv_mmu.hpp"

namespace monitor::mm {

namespace {

// The audit's environment: the domain as the PV MMU sees it, plus the type
// references that live outside page tables and pins.
struct AuditEnv : DomainTablesEnv {
    template <typename Fn>
    static void extra_references(Fn&& ref) {
        for (uint32_t id = 0; id < domain().boot.nr_vcpus; ++id) {
            const Vcpu& v = vcpu(id);
            if (v.kernel_l4_mfn)
                ref(v.kernel_l4_mfn, "a kernel base pointer");
            if (v.user_l4_mfn)
                ref(v.user_l4_mfn, "a user base pointer");
            if (v.events.info_mfn)
                ref(v.events.info_mfn, "a registered vcpu_info");
            const DescriptorTable* tables[] = {&v.gdt, &v.ldt};
            for (const DescriptorTable* table : tables)
                for (uint64_t i = 0; i < table->nr_frames; ++i)
                    ref(table->frames[i], "a GDT or LDT frame");
        }
    }
};

// Words the first problem for the panic message (integration tests match it).
void describe(const pt::pvmmu::AuditResult& r, char* out, size_t size) {
    using P = pt::pvmmu::AuditProblem;
    switch (r.problem) {
    case P::Count:
        format(out, size, "mfn %#lx records %lu %s, the tables hold %lu", r.mfn, r.recorded, r.what, r.counted);
        return;
    case P::TypeUnreferenced: format(out, size, "mfn %#lx has type %lu with no references", r.mfn, r.recorded); return;
    case P::OutsideDomain: format(out, size, "%s references mfn %#lx outside the domain", r.from, r.target); return;
    case P::MonitorSlot:
        format(out, size, "L4 mfn %#lx slot %u is %#lx, not the monitor's %#lx", r.mfn, r.index, r.entry, r.counted);
        return;
    case P::WrongType:
        format(out, size, "L%d mfn %#lx entry %u points at mfn %#lx of type %lu, not L%d", r.level, r.mfn, r.index,
               r.target, r.recorded, r.level - 1);
        return;
    case P::L1NotUser:
        format(out, size, "L1 mfn %#lx entry %u (%#lx) lacks _PAGE_USER", r.mfn, r.index, r.entry);
        return;
    case P::TableWritable:
        format(out, size, "L1 mfn %#lx entry %u maps mfn %#lx writable, but it is typed %lu", r.mfn, r.index, r.target,
               r.recorded);
        return;
    case P::None: break;
    }
    format(out, size, "%s at mfn %#lx", r.what ? r.what : "unknown problem", r.mfn);
}

uint64_t hypercalls_since_audit = 0;

}  // namespace

AuditReport audit_frame_table() {
    const auto& d = domain().boot.domain;
    AuditEnv env;
    const pt::pvmmu::AuditResult r = pt::pvmmu::audit(env, d.first_mfn, d.first_mfn + d.nr_pages);
    AuditReport report{r.consistent, r.frames_checked, r.tables_checked, {}};
    if (!r.consistent)
        describe(r, report.problem, sizeof(report.problem));
    return report;
}

void audit_if_due(bool at_shutdown) {
    const uint32_t every = domain().boot.audit_every;
    if (every == 0)
        return;
    if (!at_shutdown && ++hypercalls_since_audit < every)
        return;
    hypercalls_since_audit = 0;
    const AuditReport r = audit_frame_table();
    current().counters->audits++;
    if (!r.consistent)
        panic("PV MMU audit failed: %s", r.problem);
    if (at_shutdown)
        log(LogLevel::Info, "PV MMU audit: consistent (%lu frame checks, %lu tables, %lu audits)", r.frames_checked,
            r.tables_checked, current().counters->audits);
}

}  // namespace monitor::mm
