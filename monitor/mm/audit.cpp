#include "monitor/mm/audit.hpp"

#include <stdarg.h>

#include "monitor/lib/format.hpp"
#include "monitor/log.hpp"
#include "monitor/mm/frame_table.hpp"
#include "monitor/state.hpp"
#include "pagetables/entry.hpp"

namespace monitor::mm {

namespace {

bool is_monitor_l4_slot(unsigned i) { return i >= layout::kMonitorSlotFirst && i <= layout::kMonitorSlotLast; }

class Audit {
public:
    AuditReport run() {
        const auto& d = domain().boot.domain;
        first_ = d.first_mfn;
        end_ = d.first_mfn + d.nr_pages;
        monitor_l4_ = reinterpret_cast<const uint64_t*>(layout::direct_map(domain().boot.monitor_l4_gpa));
        if (count_type_references() && compare(&FrameInfo::type_count, "type references"))
            if (count_mappings(true) && compare(&FrameInfo::writable_count, "writable mappings"))
                if (count_mappings(false))
                    compare(&FrameInfo::map_count, "mappings");
        report_.consistent = report_.problem[0] == 0;
        return report_;
    }

private:
    [[gnu::format(printf, 2, 3)]] bool fail(const char* fmt, ...) {
        if (report_.problem[0] == 0) {
            va_list ap;
            va_start(ap, fmt);
            vformat(report_.problem, sizeof(report_.problem), fmt, ap);
            va_end(ap);
        }
        return false;
    }

    void clear_counts() {
        for (uint64_t mfn = first_; mfn < end_; ++mfn)
            frame(mfn).audit_count = 0;
    }

    // Adds one expected reference; false if it names a frame the guest
    // cannot hold (the shared_info frame is checked for writability only).
    bool reference(uint64_t mfn, const char* from) {
        if (mfn >= first_ && mfn < end_) {
            frame(mfn).audit_count++;
            return true;
        }
        if (mfn == domain().boot.domain.shared_info_mfn)
            return true;
        return fail("%s references mfn %#lx outside the domain", from, mfn);
    }

    static bool is_table(const FrameInfo& f) {
        return f.type_count > 0 && f.type >= FrameType::L1 && f.type <= FrameType::L4;
    }

    bool count_type_references() {
        clear_counts();
        for (uint64_t mfn = first_; mfn < end_; ++mfn) {
            const FrameInfo& f = frame(mfn);
            if (f.pinned && !reference(mfn, "a pin"))
                return false;
            if (!is_table(f) || f.type == FrameType::L1)
                continue;
            report_.tables_checked++;
            const int level = static_cast<int>(f.type);
            const uint64_t* t = frame_ptr<const uint64_t>(mfn);
            for (unsigned i = 0; i < pt::kEntries; ++i) {
                if (level == 4 && is_monitor_l4_slot(i)) {
                    // The CPU sets accessed/dirty bits as it walks: not a difference.
                    constexpr uint64_t kHardwareBits = pt::kAccessed | pt::kDirty;
                    const uint64_t want = i == layout::kProbeSlot ? 0 : monitor_l4_[i];
                    if ((t[i] & ~kHardwareBits) != (want & ~kHardwareBits))
                        return fail("L4 mfn %#lx slot %u is %#lx, not the monitor's %#lx", mfn, i, t[i], want);
                    continue;
                }
                if (!pt::is_present(t[i]))
                    continue;
                const uint64_t target = pt::entry_addr(t[i]) >> 12;
                if (!reference(target, "a page-table entry"))
                    return false;
                if (frame(target).type != table_type(level - 1))
                    return fail("L%d mfn %#lx entry %u points at mfn %#lx of type %u, not L%d", level, mfn, i, target,
                                static_cast<unsigned>(frame(target).type), level - 1);
            }
        }
        for (uint32_t id = 0; id < domain().boot.nr_vcpus; ++id) {
            const Vcpu& v = vcpu(id);
            if (v.kernel_l4_mfn && !reference(v.kernel_l4_mfn, "a kernel base pointer"))
                return false;
            if (v.user_l4_mfn && !reference(v.user_l4_mfn, "a user base pointer"))
                return false;
            if (v.events.info_mfn && !reference(v.events.info_mfn, "a registered vcpu_info"))
                return false;
            const DescriptorTable* tables[] = {&v.gdt, &v.ldt};
            for (const DescriptorTable* table : tables)
                for (uint64_t i = 0; i < table->nr_frames; ++i)
                    if (!reference(table->frames[i], "a GDT or LDT frame"))
                        return false;
        }
        return true;
    }

    // Recounts writable L1 mappings (writable_only) or all L1 mappings.
    bool count_mappings(bool writable_only) {
        clear_counts();
        for (uint64_t mfn = first_; mfn < end_; ++mfn) {
            const FrameInfo& f = frame(mfn);
            if (!is_table(f) || f.type != FrameType::L1)
                continue;
            report_.tables_checked++;
            const uint64_t* t = frame_ptr<const uint64_t>(mfn);
            for (unsigned i = 0; i < pt::kEntries; ++i) {
                if (!pt::is_present(t[i]))
                    continue;
                if (!(t[i] & pt::kUser))
                    return fail("L1 mfn %#lx entry %u (%#lx) lacks _PAGE_USER", mfn, i, t[i]);
                const uint64_t target = pt::entry_addr(t[i]) >> 12;
                if (writable_only && !(t[i] & pt::kWritable))
                    continue;
                if (!reference(target, "a mapping"))
                    return false;
                if ((t[i] & pt::kWritable) && target >= first_ && target < end_ && frame(target).type_count > 0 &&
                    frame(target).type != FrameType::None)
                    return fail("L1 mfn %#lx entry %u maps mfn %#lx writable, but it is typed %u", mfn, i, target,
                                static_cast<unsigned>(frame(target).type));
            }
        }
        return true;
    }

    bool compare(uint32_t FrameInfo::*field, const char* what) {
        for (uint64_t mfn = first_; mfn < end_; ++mfn) {
            const FrameInfo& f = frame(mfn);
            report_.frames_checked++;
            if (f.*field != f.audit_count)
                return fail("mfn %#lx records %u %s, the tables hold %u", mfn, f.*field, what, f.audit_count);
            if (f.type_count == 0 && f.type != FrameType::None)
                return fail("mfn %#lx has type %u with no references", mfn, static_cast<unsigned>(f.type));
        }
        return true;
    }

    AuditReport report_{};
    uint64_t first_ = 0, end_ = 0;
    const uint64_t* monitor_l4_ = nullptr;
};

uint64_t hypercalls_since_audit = 0;

}  // namespace

AuditReport audit_frame_table() { return Audit().run(); }

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
